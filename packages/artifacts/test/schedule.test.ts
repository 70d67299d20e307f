// The learning-rate schedule: TS mirror and in-graph computation agree at every step, and
// the defaults are the documented ones (linear warm-up, ÷10 at 70 % and 90 %).
import { describe, expect, it } from 'vitest';
import { GraphBuilder, effectiveLearningRate, emitScheduleFactor, learningRateFactor, resolveSchedule } from '@omnidistill/artifacts';
import { runNode } from './helpers.js';

describe('learning-rate schedule', () => {
  it('has the documented defaults', () => {
    expect(resolveSchedule({ totalSteps: 1000 })).toEqual({ totalSteps: 1000, warmupSteps: 50, warmupStartFactor: 1 / 3, milestoneSteps: [700, 900], gamma: 0.1 });
    expect(resolveSchedule({ totalSteps: 100000 }).warmupSteps).toBe(500);
    const f = (step: number) => learningRateFactor(step, { totalSteps: 1000 });
    expect(f(1)).toBeCloseTo(1 / 3, 12);
    expect(f(26)).toBeCloseTo(1 / 3 + (2 / 3) * (25 / 50), 12);
    expect(f(51)).toBe(1);
    expect(f(700)).toBe(1);
    expect(f(701)).toBeCloseTo(0.1, 12);
    expect(f(901)).toBeCloseTo(0.01, 12);
    expect(effectiveLearningRate(901, { type: 'adamw', learningRate: 2e-3 }, { totalSteps: 1000 })).toBeCloseTo(2e-5, 15);
  });

  it('is computed in-graph exactly as in TypeScript at every step', async () => {
    const schedule = { totalSteps: 40, warmupSteps: 7, warmupStartFactor: 0.2, milestones: [0.5, 0.75, 0.9], gamma: 0.3 };
    const g = new GraphBuilder();
    const step = g.input('step', 'int64', [1]);
    g.output(emitScheduleFactor(g, step, schedule), 'factor');
    const bytes = g.toModelBytes();
    for (let k = 1; k <= 42; k++) {
      const out = await runNode(bytes, { step: { data: BigInt64Array.of(BigInt(k)), dims: [1] } });
      const got = (out.factor.data as Float32Array)[0];
      const want = learningRateFactor(k, schedule);
      expect(Math.abs(got - want) / want, `step ${k}`).toBeLessThan(1e-6);
    }
  });

  it('rejects bad settings with the field named', () => {
    expect(() => resolveSchedule({ totalSteps: 0 })).toThrow(/schedule.totalSteps/);
    expect(() => resolveSchedule({ totalSteps: 10, milestones: [1.5] })).toThrow(/schedule.milestones\[0\]: expected a fraction in \(0, 1\]/);
    expect(() => resolveSchedule({ totalSteps: 10, gamma: 0 })).toThrow(/schedule.gamma/);
    expect(() => resolveSchedule({ totalSteps: 10, warmupStartFactor: 0 })).toThrow(/warmupStartFactor/);
  });
});
