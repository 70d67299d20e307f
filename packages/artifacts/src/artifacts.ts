// The four ONNX Runtime training artifacts (training, eval and optimizer model,
// checkpoint) from one model definition, validated against the contract in
// ORT-TRAINING.md before anything is returned.

import { OmniRangeError } from '@omnidistill/core';
import { type CheckpointState, writeCheckpoint } from './checkpoint.js';
import { type ModelDefinition, buildGradientGraph, gradientOutputName, instantiate } from './gradient-graph.js';
import type { GraphBuilder, Lowering } from './graph.js';
import { encodeModel } from './onnx.js';
import { type OptimizerConfig, ortOptimizerModel, resolveOptimizer } from './optimizer.js';
import { type LearningRateSchedule, resolveSchedule } from './schedule.js';

/** Name of the flag input ORT sets to overwrite (instead of add to) gradient buffers. */
export const LAZY_RESET_GRAD = 'lazy_reset_grad';

export interface TrainingArtifactsOptions {
  readonly optimizer: OptimizerConfig;
  readonly schedule: LearningRateSchedule;
  /** Gradient lowering of the training graph. Default 'ort' (faster in the wasm runtime). */
  readonly lowering?: Lowering;
  /** Also output each gradient as `<param>.gradient` from runTrainStep (tests, debugging). */
  readonly exposeGradients?: boolean;
  /** Checkpoint with names and shapes only (load parameters later with loadParametersBuffer). */
  readonly nominalCheckpoint?: boolean;
}

export interface ArtifactParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly trainable: boolean;
}

export interface TrainingArtifacts {
  readonly trainingModel: Uint8Array;
  readonly evalModel: Uint8Array;
  readonly optimizerModel: Uint8Array;
  readonly checkpoint: Uint8Array;
  /** Every parameter in order (the order of getContiguousParameters / the checkpoint). */
  readonly params: readonly ArtifactParam[];
  /** Initial parameter values, in `params` order. */
  readonly initialValues: readonly Float32Array[];
  /** User inputs of the training graph (what runTrainStep needs), with shapes. */
  readonly trainInputs: readonly { name: string; dtype: string; shape: readonly number[] }[];
  /**
   * Outputs runTrainStep returns: first one per eval output, same name and order (the
   * train-phase value, or a float [1] zero placeholder — see buildTrainingArtifacts), then
   * 'loss', then any other train-phase outputs.
   */
  readonly trainOutputs: readonly string[];
  readonly evalInputs: readonly { name: string; dtype: string; shape: readonly number[] }[];
  readonly evalOutputs: readonly string[];
}

const GRADIENT_SUFFIXES = ['_grad', '_grad.accumulation.buffer', '_grad.accumulation.out'];

function isGradientName(name: string): boolean {
  return GRADIENT_SUFFIXES.some((s) => name.endsWith(s));
}

/** Builds and validates the four artifacts. */
export function buildTrainingArtifacts(define: ModelDefinition, options: TrainingArtifactsOptions): TrainingArtifacts {
  const lowering = options.lowering ?? 'ort';
  resolveOptimizer(options.optimizer);
  resolveSchedule(options.schedule);

  // Eval graph: same definition, eval phase, same parameters in the same order.
  const ev = instantiate(define, 'eval', lowering, 'eval');
  const evalOutputs = Object.entries(ev.parts.outputs!).map(([k, v]) => ev.g.output(v, k).name);
  if (evalOutputs.includes('loss')) throw new OmniRangeError('define(g).outputs (eval phase)', 'no output named "loss" (reserved for the training loss)', 'loss');

  // Training graph: forward + backward + in-place gradient accumulation.
  const gg = buildGradientGraph(define, lowering);
  const g = gg.g;
  const userInputs = [...g.inputs];
  // onnxruntime-web 1.19.2 keys runEvalStep's results by the *training* output names, by
  // position. So the training graph's outputs start with the eval outputs' names, in
  // order: the train-phase value of that name, or a placeholder (float [1] zero) when the
  // train phase does not produce it. Then 'loss', then the remaining train outputs.
  const trainOutputs: string[] = [];
  for (const name of evalOutputs) {
    const v = gg.outputs[name] ?? g.floats([0]);
    trainOutputs.push(g.output(v, name).name);
  }
  trainOutputs.push(g.output(gg.loss, 'loss').name);
  for (const [k, v] of Object.entries(gg.outputs)) if (!evalOutputs.includes(k)) trainOutputs.push(g.output(v, k).name);
  const buffers = gg.grads.map(({ param }) => g.trailingInput(`${param.name}_grad.accumulation.buffer`, 'float32', param.shape));
  const reset = g.trailingInput(LAZY_RESET_GRAD, 'bool', [1]);
  gg.grads.forEach(({ param, grad }, i) => {
    const named = g.node('Identity', [grad], [{ dtype: 'float32', shape: param.shape, name: `${param.name}_grad` }])[0];
    const [flag] = g.node(
      'InPlaceAccumulatorV2',
      [buffers[i], named, reset],
      [{ dtype: 'bool', shape: [1], name: `${param.name}_grad.accumulation.out` }],
      {},
      'com.microsoft',
    );
    g.output(flag);
    if (options.exposeGradients) g.output(named, gradientOutputName(param.name));
  });

  validateArtifactGraphs(g, ev.g);

  const state: CheckpointState = {
    nominal: options.nominalCheckpoint ?? false,
    trainable: gg.params.filter((p) => p.trainable).map((p) => ({ name: p.name, dims: p.shape, data: options.nominalCheckpoint ? new Float32Array(0) : p.init })),
    frozen: gg.params.filter((p) => !p.trainable).map((p) => ({ name: p.name, dims: p.shape, data: options.nominalCheckpoint ? new Float32Array(0) : p.init })),
  };
  const optimizer = ortOptimizerModel(options.optimizer, options.schedule);

  return {
    trainingModel: g.toModelBytes({ paramsAs: 'inputs' }),
    evalModel: ev.g.toModelBytes({ paramsAs: 'inputs' }),
    optimizerModel: encodeModel(optimizer.toModel()),
    checkpoint: writeCheckpoint(state),
    params: gg.params.map((p) => ({ name: p.name, shape: p.shape, trainable: p.trainable })),
    initialValues: gg.params.map((p) => p.init),
    trainInputs: userInputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape })),
    trainOutputs,
    evalInputs: ev.g.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape })),
    evalOutputs,
  };
}

/**
 * The contract checks: identical parameter names and order in both graphs, no user
 * input/output or parameter whose name ORT would take for a gradient, and no user name
 * that collides with a parameter or the reset flag.
 */
export function validateArtifactGraphs(train: GraphBuilder, evalGraph: GraphBuilder): void {
  const tp = train.params.map((p) => p.name);
  const ep = evalGraph.params.map((p) => p.name);
  if (tp.join('\n') !== ep.join('\n')) {
    const i = tp.findIndex((n, k) => n !== ep[k]);
    throw new OmniRangeError(`eval graph parameter ${i}`, `"${tp[i] ?? '(none)'}" (the training graph's parameter order)`, ep[i] ?? '(none)');
  }
  train.params.forEach((p, i) => {
    const e = evalGraph.params[i];
    if (p.shape.join() !== e.shape.join() || p.trainable !== e.trainable) {
      throw new OmniRangeError(`eval graph parameter ${p.name}`, `shape [${p.shape.join(', ')}], trainable ${p.trainable}`, `[${e.shape.join(', ')}], trainable ${e.trainable}`);
    }
  });
  const userNames = [...train.inputs, ...evalGraph.inputs, ...evalGraph.outputs].map((v) => v.name);
  for (const o of train.outputs) if (!o.name.endsWith('_grad.accumulation.out')) userNames.push(o.name);
  for (const n of [...userNames, ...tp]) {
    if (isGradientName(n)) throw new OmniRangeError(`tensor "${n}"`, 'a user tensor name not ending in "_grad" (ORT hides those as gradients)', n);
    if (n === LAZY_RESET_GRAD) throw new OmniRangeError(`tensor "${n}"`, `a name other than "${LAZY_RESET_GRAD}"`, n);
  }
  const params = new Set(tp);
  for (const n of userNames) if (params.has(n)) throw new OmniRangeError(`tensor "${n}"`, 'a user input/output name that is not a parameter name', n);
}

