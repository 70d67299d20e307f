// Export of a trained model for inference: the eval graph of the model definition with the
// trained parameters baked in as initializers. The result is a plain ONNX model that
// onnxruntime-node (or any ONNX runtime) loads; both engines export through this one path.

import { encodeModel, instantiate, type ModelDefinition, type TensorData } from '@omnidistill/artifacts';
import { OmniRangeError } from '@omnidistill/core';

/** Options of {@link exportInferenceModel}. */
export interface ExportOptions {
  /** Graph name written into the model (default: 'omnidistill'). */
  readonly name?: string;
}

/**
 * Builds the inference ONNX model of `define` with `parameters` (e.g. `TrainResult.state.parameters`)
 * as initializers. Every parameter of the definition must be given, with its exact element count;
 * unknown names are an error (they usually mean a different model).
 *
 * @example
 * const onnx = exportInferenceModel(defineKeypointNet, result.state.parameters);
 * writeFileSync('student.onnx', onnx);
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
  return encodeModel({ ...model, initializers });
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
