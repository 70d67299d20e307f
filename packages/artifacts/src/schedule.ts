// The learning-rate schedule, computed in-graph from the optimizer step (ORT feeds a fixed
// learning rate, so the schedule cannot live in the training loop) and mirrored in TS for
// progress display. Linear warm-up, then ×gamma at each milestone (default ÷10 at 70% and
// 90% of the iterations, as in Detectron's keypoint schedules).

import { OmniRangeError, expectInteger } from '@omnidistill/core';
import type { GraphBuilder, Value } from './graph.js';

export interface LearningRateSchedule {
  /** Total optimizer steps of the run. */
  readonly totalSteps: number;
  /** Linear warm-up length in steps. Default min(500, round(5% of totalSteps)). */
  readonly warmupSteps?: number;
  /** Factor at step 1 of the warm-up. Default 1/3. */
  readonly warmupStartFactor?: number;
  /** Decay points as fractions of totalSteps. Default [0.7, 0.9]. */
  readonly milestones?: readonly number[];
  /** Multiplier at each milestone. Default 0.1. */
  readonly gamma?: number;
}

export interface ResolvedSchedule {
  readonly totalSteps: number;
  readonly warmupSteps: number;
  readonly warmupStartFactor: number;
  /** Iteration indices (0-based) from which each decay applies. */
  readonly milestoneSteps: readonly number[];
  readonly gamma: number;
}

/** Fills defaults and validates. */
export function resolveSchedule(s: LearningRateSchedule): ResolvedSchedule {
  const totalSteps = expectInteger(s?.totalSteps, 'schedule.totalSteps', 1);
  const warmupSteps = expectInteger(s.warmupSteps ?? Math.min(500, Math.round(0.05 * totalSteps)), 'schedule.warmupSteps', 0);
  const warmupStartFactor = s.warmupStartFactor ?? 1 / 3;
  if (!(warmupStartFactor > 0 && warmupStartFactor <= 1)) throw new OmniRangeError('schedule.warmupStartFactor', 'a number in (0, 1]', warmupStartFactor);
  const milestones = s.milestones ?? [0.7, 0.9];
  milestones.forEach((m, i) => {
    if (!(m > 0 && m <= 1)) throw new OmniRangeError(`schedule.milestones[${i}]`, 'a fraction in (0, 1]', m);
  });
  const gamma = s.gamma ?? 0.1;
  if (!(gamma > 0)) throw new OmniRangeError('schedule.gamma', 'a positive number', gamma);
  return { totalSteps, warmupSteps, warmupStartFactor, milestoneSteps: milestones.map((m) => Math.round(m * totalSteps)), gamma };
}

/**
 * Schedule factor for optimizer step `step` (1-based: the first update is step 1, which
 * is what ORT feeds the optimizer graph).
 */
export function learningRateFactor(step: number, schedule: LearningRateSchedule): number {
  const s = resolveSchedule(schedule);
  const i = step - 1;
  let f = s.warmupSteps > 0 && i < s.warmupSteps ? s.warmupStartFactor + ((1 - s.warmupStartFactor) * i) / s.warmupSteps : 1;
  for (const m of s.milestoneSteps) if (i >= m) f *= s.gamma;
  return f;
}

/** Emits the schedule factor (float32 [1]) for an int64 [1] 1-based `step` value. */
export function emitScheduleFactor(g: GraphBuilder, step: Value, schedule: LearningRateSchedule): Value {
  const s = resolveSchedule(schedule);
  const i = g.sub(g.cast(step, 'float32'), 1);
  let f: Value =
    s.warmupSteps > 0
      ? g.where(g.less(i, s.warmupSteps), g.add(g.mul(i, (1 - s.warmupStartFactor) / s.warmupSteps), s.warmupStartFactor), g.floats([1]))
      : g.floats([1]);
  for (const m of s.milestoneSteps) f = g.mul(f, g.where(g.greaterOrEqual(i, m), g.floats([s.gamma]), g.floats([1])));
  return f;
}
