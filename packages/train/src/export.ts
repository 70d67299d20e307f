// Export of a trained model for inference: the eval graph of the model definition with the
// trained parameters baked in as initializers. The result is a plain ONNX model that
// onnxruntime-node (or any ONNX runtime) loads; both engines export through this one path.

import { encodeModel, instantiate, type ModelDefinition, type TensorData, type ValueInfo } from '@omnidistill/artifacts';
import { OmniRangeError } from '@omnidistill/core';

/** Options of {@link exportInferenceModel}. */
export interface ExportOptions {
  /** Graph name written into the model (default: 'omnidistill'). */
  readonly name?: string;
  /**
   * Per graph input/output name, the axes to mark dynamic (dimension -1, read by ONNX
   * Runtime as unknown), e.g. image height/width and the RoI count. Intermediate shapes are
   * then dropped and left to the runtime, so the graph must derive every size-dependent
   * quantity from `Shape` at run time.
   */
  readonly dynamicAxes?: Readonly<Record<string, readonly number[]>>;
}

/**
 * Builds the inference ONNX model of `define` with `parameters` (e.g. `TrainResult.state.parameters`)
 * as initializers. Every parameter of the definition must be given, with its exact element count;
 * unknown names are an error (they usually mean a different model).
 *
 * @example
 * const onnx = exportInferenceModel(defineKeypointNet, result.state.parameters);
 * await writeFileAtomic('student.onnx', onnx); // @omnidistill/coco: every byte, fsync, rename
 */
export function exportInferenceModel(
  define: ModelDefinition,
  parameters: ReadonlyMap<string, Float32Array>,
  options: ExportOptions = {},
): Uint8Array {
  const { g, parts } = instantiate(define, 'eval', 'standard', options.name ?? 'omnidistill');
  for (const [name, value] of Object.entries(parts.outputs ?? {})) g.output(value, name);
  const known = new Set(g.params.map((p) => p.name));
  for (const name of parameters.keys()) {
    if (!known.has(name)) {
      throw new OmniRangeError(`parameters.${name}`, `a parameter of the model (${[...known].join(', ')})`, name);
    }
  }
  const model = g.toModel({ paramsAs: 'initializers' });
  const initializers: TensorData[] = model.initializers.map((init) => {
    if (!known.has(init.name)) return init;
    const value = parameters.get(init.name);
    if (!value) throw new OmniRangeError(`parameters.${init.name}`, 'a trained value for every parameter', undefined);
    if (value.length !== init.data.length) {
      throw new OmniRangeError(`parameters.${init.name}.length`, `${init.data.length} (shape [${init.dims.join(', ')}])`, value.length);
    }
    return { ...init, data: Float32Array.from(value) };
  });
  const dynamic = options.dynamicAxes;
  if (dynamic === undefined) return encodeModel({ ...model, initializers });
  const mark = (v: ValueInfo): ValueInfo => {
    const axes = dynamic[v.name];
    if (!axes || v.type.kind !== 'tensor') return v;
    return { ...v, type: { ...v.type, shape: v.type.shape.map((d, i) => (axes.includes(i) ? -1 : d)) } };
  };
  return encodeModel({ ...model, initializers, inputs: model.inputs.map(mark), outputs: model.outputs.map(mark), valueInfo: [] });
}

/** The eval graph with the parameters as inputs after the user inputs (ORT's eval-artifact layout). */
export function evalModelWithParameterInputs(define: ModelDefinition): { bytes: Uint8Array; userInputs: string[]; outputs: string[] } {
  const { g, parts } = instantiate(define, 'eval', 'standard', 'eval');
  for (const [name, value] of Object.entries(parts.outputs ?? {})) g.output(value, name);
  return {
    bytes: g.toModelBytes({ paramsAs: 'inputs' }),
    userInputs: g.inputs.map((v) => v.name),
    outputs: g.outputs.map((v) => v.name),
  };
}
