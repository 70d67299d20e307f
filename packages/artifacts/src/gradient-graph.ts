// One model definition, many graphs: the definition is a function of a GraphBuilder that
// is run once per graph (train/eval phase, ort/standard lowering), so the training graph,
// eval graph and standard training step can never drift apart.

import { OmniRangeError, OmniTypeError } from '@omnidistill/core';
import { buildGradients, type GradientOptions } from './autodiff.js';
import { GraphBuilder, type Lowering, type ParamInfo, type Phase, type Value } from './graph.js';

/** What a model definition returns. */
export interface ModelParts {
  /** Scalar loss; required in the train phase. */
  readonly loss?: Value;
  /** Named outputs (predictions). The eval graph outputs exactly these. */
  readonly outputs?: Readonly<Record<string, Value>>;
}

/**
 * A model written once: declare inputs and params, build the forward pass; in the train
 * phase (`g.phase === 'train'`) also declare targets and return the loss.
 */
export type ModelDefinition = (g: GraphBuilder) => ModelParts;

/** Runs a definition into a fresh builder and checks what it returned. */
export function instantiate(define: ModelDefinition, phase: Phase, lowering: Lowering, name = 'model'): { g: GraphBuilder; parts: ModelParts } {
  if (typeof define !== 'function') throw new OmniTypeError('define', 'a function (g: GraphBuilder) => { loss?, outputs? }', define);
  const g = new GraphBuilder({ phase, lowering, name });
  const parts = define(g);
  if (!parts || typeof parts !== 'object') throw new OmniTypeError('define(g)', 'an object { loss?, outputs? }', parts);
  if (phase === 'train' && !parts.loss) throw new OmniRangeError('define(g).loss', 'a scalar loss in the train phase', parts.loss);
  if (phase === 'eval' && (!parts.outputs || Object.keys(parts.outputs).length === 0)) {
    throw new OmniRangeError('define(g).outputs', 'at least one named output in the eval phase', parts.outputs);
  }
  if (g.params.length === 0) throw new OmniRangeError('define(g)', 'a model with at least one g.param(...)', 0);
  return { g, parts };
}

export interface GradientGraph {
  readonly g: GraphBuilder;
  /** The loss, renamed to 'loss'. */
  readonly loss: Value;
  readonly outputs: Readonly<Record<string, Value>>;
  /** Every parameter in declaration order. */
  readonly params: readonly ParamInfo[];
  /** dLoss/dParam for each trainable parameter, in parameter order. */
  readonly grads: readonly { readonly param: ParamInfo; readonly grad: Value }[];
  /** How many of `g.nodes` (the first ones) are the forward pass and loss; the rest are gradients. */
  readonly forwardNodeCount: number;
}

/** Forward (train phase) + backward of a definition, outputs not yet declared. */
export function buildGradientGraph(define: ModelDefinition, lowering: Lowering, options: GradientOptions = {}): GradientGraph {
  const { g, parts } = instantiate(define, 'train', lowering, 'training');
  const loss = parts.loss!;
  const trainable = g.params.filter((p) => p.trainable);
  if (trainable.length === 0) throw new OmniRangeError('define(g)', 'at least one trainable parameter', 0);
  const forwardNodeCount = g.nodes.length;
  const gradMap = buildGradients(g, loss, trainable.map((p) => p.value), options);
  return {
    g,
    loss,
    outputs: parts.outputs ?? {},
    params: g.params,
    grads: trainable.map((param) => ({ param, grad: gradMap.get(param.name)! })),
    forwardNodeCount,
  };
}

/** Name of the gradient output in a {@link gradientModel}. */
export function gradientOutputName(param: string): string {
  return `${param}.gradient`;
}

/**
 * A plain ONNX model computing loss and gradients: inputs = user inputs then parameters
 * (declaration order); outputs = `loss`, the definition's outputs, then
 * `<param>.gradient` per trainable parameter. With lowering 'standard' it runs in
 * onnxruntime-node; useful for gradient checks and custom training loops.
 */
export function gradientModel(
  define: ModelDefinition,
  lowering: Lowering,
  options: GradientOptions = {},
): { bytes: Uint8Array; params: readonly ParamInfo[]; gradientOutputs: string[]; inputShapes: Record<string, readonly number[]> } {
  const gg = buildGradientGraph(define, lowering, options);
  const { g } = gg;
  g.output(gg.loss, 'loss');
  for (const [k, v] of Object.entries(gg.outputs)) g.output(v, k);
  const gradientOutputs = gg.grads.map(({ param, grad }) => g.output(grad, gradientOutputName(param.name)).name);
  const inputShapes = Object.fromEntries(g.inputs.map((v) => [v.name, v.shape]));
  return { bytes: g.toModelBytes({ paramsAs: 'inputs' }), params: gg.params, gradientOutputs, inputShapes };
}
