// Optimizer configuration and the ORT optimizer model (com.microsoft AdamWOptimizer /
// SGDOptimizerV2 over tensor sequences), with the learning-rate scale and schedule
// computed in-graph.

import { OmniRangeError, expectInteger, expectOneOf } from '@omnidistill/core';
import { GraphBuilder, attr } from './graph.js';
import { type LearningRateSchedule, emitScheduleFactor, learningRateFactor } from './schedule.js';

/** ORT 1.19.2's JS API always feeds this learning rate to the optimizer model. */
export const ORT_FED_LEARNING_RATE = 0.001;

export interface AdamWConfig {
  readonly type: 'adamw';
  readonly learningRate: number;
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-8. */
  readonly epsilon?: number;
  /** Decoupled weight decay (torch AdamW). Default 0.01. */
  readonly weightDecay?: number;
}

export interface SgdConfig {
  readonly type: 'sgd';
  readonly learningRate: number;
  /** Heavy-ball momentum (torch SGD). Only the standard step supports it; default 0. */
  readonly momentum?: number;
  /** L2 weight decay added to the gradient (torch SGD). Standard step only; default 0. */
  readonly weightDecay?: number;
}

export type OptimizerConfig = AdamWConfig | SgdConfig;

export interface ResolvedAdamW {
  readonly type: 'adamw';
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}
export interface ResolvedSgd {
  readonly type: 'sgd';
  readonly learningRate: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

function positive(v: unknown, path: string): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new OmniRangeError(path, 'a positive finite number', v);
  return v;
}
function unit(v: unknown, path: string, fallback: number): number {
  const x = v ?? fallback;
  if (typeof x !== 'number' || !(x >= 0 && x < 1)) throw new OmniRangeError(path, 'a number in [0, 1)', x);
  return x;
}

export function resolveOptimizer(o: OptimizerConfig): ResolvedAdamW | ResolvedSgd {
  const type = expectOneOf(o?.type, 'optimizer.type', ['adamw', 'sgd'] as const);
  const learningRate = positive(o.learningRate, 'optimizer.learningRate');
  if (type === 'adamw') {
    const a = o as AdamWConfig;
    const weightDecay = a.weightDecay ?? 0.01;
    if (!(weightDecay >= 0)) throw new OmniRangeError('optimizer.weightDecay', 'a number >= 0', weightDecay);
    return { type, learningRate, beta1: unit(a.beta1, 'optimizer.beta1', 0.9), beta2: unit(a.beta2, 'optimizer.beta2', 0.999), epsilon: positive(a.epsilon ?? 1e-8, 'optimizer.epsilon'), weightDecay };
  }
  const s = o as SgdConfig;
  const weightDecay = s.weightDecay ?? 0;
  if (!(weightDecay >= 0)) throw new OmniRangeError('optimizer.weightDecay', 'a number >= 0', weightDecay);
  return { type, learningRate, momentum: unit(s.momentum, 'optimizer.momentum', 0), weightDecay };
}

/** The learning rate the optimizer applies at 1-based step `step`. */
export function effectiveLearningRate(step: number, optimizer: OptimizerConfig, schedule: LearningRateSchedule): number {
  return resolveOptimizer(optimizer).learningRate * learningRateFactor(step, schedule);
}

/**
 * The ORT optimizer model. Inputs, in order: learning_rate float[1], step int64[1],
 * params, gradients, first_order_moments (+ second_order_moments for AdamW), the last
 * four tensor sequences. lr_eff = learning_rate · (base / 0.001) · schedule(step + stepOffset).
 * `stepOffset` lets a resumed session whose optimizer restarts at step 1 (ORT-web cannot
 * restore Adam moments) continue the learning-rate schedule where the run stopped.
 */
export function ortOptimizerModel(optimizer: OptimizerConfig, schedule: LearningRateSchedule, options: { stepOffset?: number } = {}): GraphBuilder {
  const stepOffset = expectInteger(options.stepOffset ?? 0, 'options.stepOffset', 0);
  const o = resolveOptimizer(optimizer);
  const g = new GraphBuilder({ name: 'optimizer' });
  const lr = g.input('learning_rate', 'float32', [1]);
  const step = g.input('step', 'int64', [1]);
  const params = g.sequenceInput('params');
  const grads = g.sequenceInput('gradients');
  const m1 = g.sequenceInput('first_order_moments');
  const scheduleStep = stepOffset === 0 ? step : g.add(step, stepOffset);
  const lrEff = g.mul(g.mul(lr, o.learningRate / ORT_FED_LEARNING_RATE), emitScheduleFactor(g, scheduleStep, schedule));
  if (o.type === 'adamw') {
    const m2 = g.sequenceInput('second_order_moments');
    // The updated flag is bool [1] (declaring it int64, as the op schema suggests, fails).
    const [flag] = g.node(
      'AdamWOptimizer',
      [lrEff, step, params, grads, m1, m2],
      [{ dtype: 'bool', shape: [1], name: 'updated_flag' }],
      {
        alpha: attr.float(o.beta1),
        beta: attr.float(o.beta2),
        epsilon: attr.float(o.epsilon),
        weight_decay: attr.float(o.weightDecay),
        correct_bias: attr.int(1),
        adam_mode: attr.int(0),
      },
      'com.microsoft',
    );
    g.output(flag);
    return g;
  }
  if (o.momentum !== 0 || o.weightDecay !== 0) {
    throw new OmniRangeError('optimizer (ORT artifacts, SGD)', 'momentum 0 and weightDecay 0 (SGDOptimizerV2 is plain SGD; use the standard step for momentum)', `momentum ${o.momentum}, weightDecay ${o.weightDecay}`);
  }
  // The bool flag must be declared as a scalar: [1] makes session creation fail (ORT then
  // logs a harmless "expected shape {} does not match {1}" warning per step).
  const [flag] = g.node('SGDOptimizerV2', [lrEff, params, grads], [{ dtype: 'bool', shape: [], name: 'update_completed' }], {}, 'com.microsoft');
  g.output(flag);
  return g;
}
