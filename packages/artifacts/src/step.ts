// The whole training step in standard ONNX ops (issue 8): forward, standard-op backward
// and the optimizer update as ordinary nodes. Parameters and optimizer state go in,
// updated parameters and state come out, so any ONNX Runtime (onnxruntime-node on CPU or
// CUDA) can train the same model definition as the wasm training session.

import { OmniRangeError } from '@omnidistill/core';
import type { ArtifactParam } from './artifacts.js';
import type { GradientOptions } from './autodiff.js';
import { type ModelDefinition, buildGradientGraph, instantiate } from './gradient-graph.js';
import { type GraphBuilder, type Value, attr } from './graph.js';
import { nchwcConvolutions } from './nchwc.js';
import { encodeModel } from './onnx.js';
import { numel } from './shapes.js';
import { type OptimizerConfig, type ResolvedAdamW, type ResolvedSgd, resolveOptimizer } from './optimizer.js';
import { type LearningRateSchedule, emitScheduleFactor } from './schedule.js';

/** Name of the 1-based optimizer step input (int64 [1]) of a training step model. */
export const STEP_INPUT = 'step';
/** Output carrying the learning rate applied in this step (float32 [1]). */
export const LEARNING_RATE_OUTPUT = 'learning_rate';

/** Name of a state tensor's updated value in the step model's outputs. */
export function updatedName(name: string): string {
  return `${name}.updated`;
}

export interface StateTensor {
  /** Graph input name (feed the current value here). */
  readonly input: string;
  /** Graph output name (the value after this step; feed it back next step). */
  readonly output: string;
  readonly shape: readonly number[];
  readonly kind: 'param' | 'momentum0' | 'momentum1' | 'running-stat';
  /** The parameter this state belongs to. */
  readonly param: string;
  /** Value before the first step (parameter init, zeros for moments). */
  readonly initial: Float32Array;
}

export interface TrainingStepModel {
  readonly model: Uint8Array;
  /** All parameters in declaration order (same as the ORT artifacts); each is fed by name. */
  readonly params: readonly ArtifactParam[];
  /** Initial parameter values, in `params` order (frozen ones included). */
  readonly initialValues: readonly Float32Array[];
  /** User inputs (data and targets) with shapes. */
  readonly dataInputs: readonly { name: string; dtype: string; shape: readonly number[] }[];
  /** Every state tensor that changes between steps, with its input/output names. */
  readonly state: readonly StateTensor[];
  /** Outputs: 'loss', the definition's outputs, 'learning_rate', then state outputs. */
  readonly outputs: readonly string[];
  /** The part of the step each node belongs to, by node name (for per-op profiles). */
  readonly nodeSections: Readonly<Record<string, StepSection>>;
}

/** Parts of a training step: forward pass and loss, gradients, optimizer update (with the schedule). */
export type StepSection = 'forward' | 'backward' | 'optimizer';

export interface TrainingStepOptions {
  readonly optimizer: OptimizerConfig;
  readonly schedule: LearningRateSchedule;
  /**
   * Rewrite the convolutions into ORT's NCHWc Conv with this block size (the CPU's MLAS block
   * size: 8 with AVX2, 16 with AVX-512; see {@link nchwcConvolutions}). The model then only
   * loads in onnxruntime's CPU provider on such a CPU. Default: plain ONNX convolutions.
   */
  readonly nchwcBlock?: number;
  /** Choices of the backward pass's lowering (default: the measured-fastest forms). */
  readonly gradient?: GradientOptions;
}

/**
 * Builds the standard-ONNX training step of a model definition. Feeds: data inputs,
 * every parameter (by its name), `<P>.momentum0` / `<P>.momentum1` per trainable P (AdamW:
 * both; SGD with momentum: momentum0), and `step` (int64 [1], 1-based). Outputs: `loss`,
 * the definition's outputs, `learning_rate`, then `<name>.updated` for every state tensor
 * (trainable parameters, moments, BatchNorm running statistics).
 */
export function buildTrainingStep(define: ModelDefinition, options: TrainingStepOptions): TrainingStepModel {
  const opt = resolveOptimizer(options.optimizer);
  const gg = buildGradientGraph(define, 'standard', options.gradient);
  const g = gg.g;
  for (const v of g.inputs) {
    if (v.name === STEP_INPUT) throw new OmniRangeError(`input "${v.name}"`, `a name other than "${STEP_INPUT}" (reserved for the step counter)`, v.name);
  }
  const dataInputs = g.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape }));
  const outputs: string[] = [g.output(gg.loss, 'loss').name];
  for (const [k, v] of Object.entries(gg.outputs)) outputs.push(g.output(v, k).name);

  const gradientsEnd = g.nodes.length;
  const step = g.trailingInput(STEP_INPUT, 'int64', [1]);
  const t = g.cast(step, 'float32');
  const lr = g.mul(emitScheduleFactor(g, step, options.schedule), opt.learningRate);
  outputs.push(g.output(lr, LEARNING_RATE_OUTPUT).name);

  const state: StateTensor[] = [];
  const emitState = (kind: StateTensor['kind'], param: string, input: Value, updated: Value, initial: Float32Array): void => {
    const out = g.output(updated, updatedName(input.name)).name;
    outputs.push(out);
    state.push({ input: input.name, output: out, shape: input.shape, kind, param, initial });
  };

  // The update runs once over every trainable parameter concatenated into one vector
  // (parameters, gradients and moments each Concat'ed, the results Split back): the same
  // element-wise arithmetic as per-parameter updates, in ~20 nodes instead of ~21 per
  // parameter (426 nodes on the reference keypoint model, ~5 ms of a 110 ms step).
  const trainable = gg.grads;
  const flat = (vs: readonly Value[]): Value => concatFlat(g, vs);
  const zeros = (n: number): Float32Array => new Float32Array(n);
  const params = trainable.map((t) => t.param.value);
  const grads = trainable.map((t) => t.grad);
  const emitAll = (kind: StateTensor['kind'], inputs: readonly Value[], updated: Value, initial: (i: number) => Float32Array): void => {
    splitFlat(g, updated, inputs, inputs.map((v) => updatedName(v.name))).forEach((u, i) => emitState(kind, trainable[i].param.name, inputs[i], u, initial(i)));
  };
  if (opt.type === 'adamw') {
    const ms = trainable.map(({ param }) => g.trailingInput(`${param.name}.momentum0`, 'float32', param.shape));
    const vs = trainable.map(({ param }) => g.trailingInput(`${param.name}.momentum1`, 'float32', param.shape));
    const u = adamwUpdate(g, opt, flat(params), flat(grads), flat(ms), flat(vs), lr, t);
    emitAll('param', params, u.param, (i) => trainable[i].param.init);
    emitAll('momentum0', ms, u.m, (i) => zeros(trainable[i].param.init.length));
    emitAll('momentum1', vs, u.v, (i) => zeros(trainable[i].param.init.length));
  } else {
    const bufs = opt.momentum > 0 ? trainable.map(({ param }) => g.trailingInput(`${param.name}.momentum0`, 'float32', param.shape)) : undefined;
    const u = sgdUpdate(g, opt, flat(params), flat(grads), bufs && flat(bufs), lr);
    emitAll('param', params, u.param, (i) => trainable[i].param.init);
    if (bufs && u.buf) emitAll('momentum0', bufs, u.buf, (i) => zeros(trainable[i].param.init.length));
  }
  for (const s of g.bnStats) {
    for (const [cur, next] of [
      [s.mean, s.newMean],
      [s.variance, s.newVariance],
    ] as const) {
      const p = gg.params.find((q) => q.name === cur.name);
      if (!p) continue; // statistics fed as plain inputs are the caller's business
      emitState('running-stat', p.name, cur, next, p.init);
    }
  }

  // The eval graph must agree on parameters (the same check as for ORT artifacts).
  const ev = instantiate(define, 'eval', 'standard', 'eval');
  if (ev.g.params.map((p) => p.name).join('\n') !== gg.params.map((p) => p.name).join('\n')) {
    throw new OmniRangeError('define(g)', 'the same parameters in train and eval phase', 'different parameter lists');
  }

  const sectionOf = new Map<string, StepSection>();
  g.nodes.forEach((n, i) => sectionOf.set(n.name, i < gg.forwardNodeCount ? 'forward' : i < gradientsEnd ? 'backward' : 'optimizer'));
  const plain = g.toModel({ paramsAs: 'inputs' });
  const model = options.nchwcBlock ? nchwcConvolutions(plain, options.nchwcBlock) : plain;
  // Nodes a rewrite put in place of one of ours keep its name before the first '/'.
  const nodeSections: Record<string, StepSection> = {};
  for (const n of model.nodes) nodeSections[n.name] = sectionOf.get(n.name.split('/')[0])!;
  return {
    nodeSections,
    model: encodeModel(model),
    params: gg.params.map((p) => ({ name: p.name, shape: p.shape, trainable: p.trainable })),
    initialValues: gg.params.map((p) => p.init),
    dataInputs,
    state,
    outputs,
  };
}

/** The tensors flattened and concatenated into one vector (a lone tensor is only reshaped). */
function concatFlat(g: GraphBuilder, vs: readonly Value[]): Value {
  const flat = vs.map((v) => (v.shape.length === 1 ? v : g.reshape(v, [numel(v.shape)])));
  return flat.length === 1 ? flat[0] : g.concat(flat, 0);
}

/**
 * Inverse of {@link concatFlat}: `v` split into pieces shaped like `like`, each reshaped
 * straight into the value named `names[i]` (no renaming Identity per state output).
 */
function splitFlat(g: GraphBuilder, v: Value, like: readonly Value[], names: readonly string[]): Value[] {
  const sizes = like.map((x) => numel(x.shape));
  // 1-D pieces come straight out of the Split under their names; the others through a Reshape.
  const splitName = (i: number) => (like[i].shape.length === 1 ? { name: names[i] } : {});
  const parts =
    like.length === 1
      ? [v]
      : g.node(
          'Split',
          [v, g.int64s(sizes)],
          sizes.map((n, i) => ({ dtype: 'float32' as const, shape: [n], ...splitName(i) })),
          { axis: attr.int(0) },
        );
  return parts.map((p, i) =>
    p.name === names[i] ? p : g.node('Reshape', [p, g.int64s(like[i].shape)], [{ dtype: 'float32', shape: like[i].shape, name: names[i] }])[0],
  );
}

/** torch.optim.AdamW: decoupled decay, bias-corrected moments. */
function adamwUpdate(g: GraphBuilder, o: ResolvedAdamW, p: Value, grad: Value, m: Value, v: Value, lr: Value, t: Value): { param: Value; m: Value; v: Value } {
  const decayed = o.weightDecay > 0 ? g.mul(p, g.sub(g.floats([1]), g.mul(lr, o.weightDecay))) : p;
  const m2 = g.add(g.mul(m, o.beta1), g.mul(grad, 1 - o.beta1));
  const v2 = g.add(g.mul(v, o.beta2), g.mul(g.mul(grad, grad), 1 - o.beta2));
  const bc1 = g.sub(g.floats([1]), g.pow(g.floats([o.beta1]), t));
  const bc2 = g.sub(g.floats([1]), g.pow(g.floats([o.beta2]), t));
  const denom = g.add(g.div(g.sqrt(v2), g.sqrt(bc2)), o.epsilon);
  const stepSize = g.div(lr, bc1);
  const param = g.sub(decayed, g.mul(stepSize, g.div(m2, denom)));
  return { param, m: m2, v: v2 };
}

/** torch.optim.SGD (dampening 0, not Nesterov): buf = μ·buf + g + wd·p; p −= lr·buf. */
function sgdUpdate(g: GraphBuilder, o: ResolvedSgd, p: Value, grad: Value, buf: Value | undefined, lr: Value): { param: Value; buf?: Value } {
  const d = o.weightDecay > 0 ? g.add(grad, g.mul(p, o.weightDecay)) : grad;
  if (!buf) return { param: g.sub(p, g.mul(d, lr)) };
  const nb = g.add(g.mul(buf, o.momentum), d);
  return { param: g.sub(p, g.mul(nb, lr)), buf: nb };
}
