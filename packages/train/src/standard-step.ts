// INTERIM ADAPTER (to be replaced by @omnidistill/artifacts' standard-op training step when it
// lands): builds the whole training step of a model definition in standard ONNX ops — forward,
// the artifacts' standard-lowering backward, the learning-rate schedule from `step`, and the
// optimizer update (SGD, or AdamW with torch semantics as ORT's AdamWOptimizer adam_mode 0) —
// in the native engine's contract.

import { buildGradientGraph, type GraphBuilder, type ModelDefinition, type Value } from '@omnidistill/artifacts';
import { OmniRangeError, OmniTypeError, expectInRange, expectInteger } from '@omnidistill/core';
import type { ParameterSpec } from './engine.js';
import { evalModelWithParameterInputs } from './export.js';
import type { NativeStateSlot, NativeStepArtifacts } from './native-engine.js';

/** Optimizer of a training run. */
export type OptimizerSpec =
  | { readonly kind: 'sgd'; readonly lr: number }
  | {
      readonly kind: 'adamw';
      readonly lr: number;
      readonly beta1?: number;
      readonly beta2?: number;
      readonly epsilon?: number;
      readonly weightDecay?: number;
    };

/** Learning-rate schedule: linear warm-up, then ÷10 (gamma) at each milestone fraction of the run. */
export interface ScheduleSpec {
  /** Total optimizer steps of the run. */
  readonly totalSteps: number;
  /** Warm-up steps (default 0). */
  readonly warmupSteps?: number;
  /** LR factor at step 0 of the warm-up (default 1/3). */
  readonly warmupFactor?: number;
  /** Milestones as fractions of `totalSteps` (default [0.7, 0.9]). */
  readonly milestones?: readonly number[];
  /** Factor applied at each milestone (default 0.1). */
  readonly gamma?: number;
}

function scheduleParts(schedule: ScheduleSpec) {
  const total = expectInteger(schedule.totalSteps, 'schedule.totalSteps', 1);
  const warmup = expectInteger(schedule.warmupSteps ?? 0, 'schedule.warmupSteps', 0);
  const factor = expectInRange(schedule.warmupFactor ?? 1 / 3, 'schedule.warmupFactor', 0, 1);
  const gamma = expectInRange(schedule.gamma ?? 0.1, 'schedule.gamma', 0, 1);
  const milestones = (schedule.milestones ?? [0.7, 0.9]).map((m, i) => Math.round(expectInRange(m, `schedule.milestones[${i}]`, 0, 1) * total));
  return { total, warmup, factor, gamma, milestones };
}

/** The schedule's multiplier of the base learning rate at a 0-based step (plain-TS reference of the in-graph schedule). */
export function scheduleFactor(schedule: ScheduleSpec, step: number): number {
  const { warmup, factor, gamma, milestones } = scheduleParts(schedule);
  const w = step < warmup ? factor + ((1 - factor) * step) / warmup : 1;
  return milestones.reduce((f, m) => (step >= m ? f * gamma : f), w);
}

/** In-graph schedule multiplier from the 0-based step `s` (float [1]). */
function scheduleInGraph(g: GraphBuilder, s: Value, schedule: ScheduleSpec): Value {
  const { warmup, factor, gamma, milestones } = scheduleParts(schedule);
  let f: Value = g.floats([1]);
  if (warmup > 0) {
    const ramp = g.add(g.mul(s, (1 - factor) / warmup), factor);
    f = g.where(g.less(s, warmup), ramp, f);
  }
  for (const m of milestones) f = g.where(g.greaterOrEqual(s, m), g.mul(f, gamma), f);
  return f;
}

function optimizerDefaults(o: OptimizerSpec) {
  if (typeof o !== 'object' || o === null) throw new OmniTypeError('optimizer', 'an optimizer object', o);
  const lr = expectInRange(o.lr, 'optimizer.lr', 0, Number.MAX_VALUE);
  if (o.kind === 'sgd') return { kind: 'sgd' as const, lr, beta1: 0, beta2: 0, epsilon: 0, weightDecay: 0 };
  if (o.kind !== 'adamw') throw new OmniTypeError('optimizer.kind', '"sgd" or "adamw"', (o as { kind: unknown }).kind);
  return {
    kind: 'adamw' as const,
    lr,
    beta1: expectInRange(o.beta1 ?? 0.9, 'optimizer.beta1', 0, 1),
    beta2: expectInRange(o.beta2 ?? 0.999, 'optimizer.beta2', 0, 1),
    epsilon: expectInRange(o.epsilon ?? 1e-8, 'optimizer.epsilon', 0, 1),
    weightDecay: expectInRange(o.weightDecay ?? 0.01, 'optimizer.weightDecay', 0, Number.MAX_VALUE),
  };
}

/**
 * Builds the standard-op training step of `define` for the native engine. The step input is the
 * 1-based index of the update (ORT's convention); the schedule uses the 0-based step.
 */
export function buildStandardTrainingStep(define: ModelDefinition, optimizer: OptimizerSpec, schedule: ScheduleSpec): NativeStepArtifacts {
  const o = optimizerDefaults(optimizer);
  const gg = buildGradientGraph(define, 'standard');
  const { g } = gg;
  g.output(gg.loss, 'loss');
  const step = g.input('step', 'int64', [1]);
  const t = g.cast(step, 'float32');
  const lr = g.mul(scheduleInGraph(g, g.sub(t, 1), schedule), o.lr);
  const state: NativeStateSlot[] = [];
  const bc1 = o.kind === 'adamw' ? g.sub(g.floats([1]), g.pow(g.floats([o.beta1]), t)) : undefined;
  const bc2 = o.kind === 'adamw' ? g.sqrt(g.sub(g.floats([1]), g.pow(g.floats([o.beta2]), t))) : undefined;
  for (const { param, grad } of gg.grads) {
    const p = param.value;
    const name = param.name;
    let next: Value;
    if (o.kind === 'sgd') {
      next = g.sub(p, g.mul(grad, lr));
    } else {
      const m = g.input(`${name}.m`, 'float32', p.shape);
      const v = g.input(`${name}.v`, 'float32', p.shape);
      const m2 = g.add(g.mul(m, o.beta1), g.mul(grad, 1 - o.beta1));
      const v2 = g.add(g.mul(v, o.beta2), g.mul(g.mul(grad, grad), 1 - o.beta2));
      // torch AdamW: decay first, then p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps).
      const decayed = g.sub(p, g.mul(p, g.mul(lr, o.weightDecay)));
      const denom = g.add(g.div(g.sqrt(v2), bc2!), o.epsilon);
      next = g.sub(decayed, g.mul(g.div(m2, denom), g.div(lr, bc1!)));
      g.output(m2, `${name}.m.next`);
      g.output(v2, `${name}.v.next`);
      state.push({ input: `${name}.m`, output: `${name}.m.next`, parameter: name, role: 'm' });
      state.push({ input: `${name}.v`, output: `${name}.v.next`, parameter: name, role: 'v' });
    }
    g.output(next, `${name}.next`);
    state.push({ input: name, output: `${name}.next`, parameter: name, role: 'param' });
  }
  // BatchNorm running statistics are frozen parameters that the forward pass updates.
  const updatedStats = new Map<string, Value>();
  for (const s of g.bnStats) {
    updatedStats.set(s.mean.name, s.newMean);
    updatedStats.set(s.variance.name, s.newVariance);
  }
  for (const param of gg.params) {
    if (param.trainable) continue;
    const updated = updatedStats.get(param.name);
    if (updated) g.output(updated, `${param.name}.next`);
    state.push({ input: param.name, ...(updated ? { output: `${param.name}.next` } : {}), parameter: param.name, role: 'param' });
  }
  const userInputs: Record<string, readonly number[]> = {};
  for (const v of g.inputs) {
    if (v.name === 'step' || state.some((s) => s.input === v.name)) continue;
    userInputs[v.name] = v.shape;
  }
  const ev = evalModelWithParameterInputs(define);
  const parameters: ParameterSpec[] = gg.params.map((p) => ({ name: p.name, shape: p.shape, trainable: p.trainable }));
  if (parameters.length === 0) throw new OmniRangeError('define', 'a model with parameters', 0);
  return {
    stepModel: g.toModelBytes({ paramsAs: 'inputs' }),
    evalModel: ev.bytes,
    parameters,
    userInputs,
    stepInput: 'step',
    stepDtype: 'int64',
    lossOutput: 'loss',
    state,
    evalUserInputs: ev.userInputs,
  };
}
