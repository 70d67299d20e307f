// The BatchNorm mode a student trains in by default: batch statistics for re-initialised
// weights and for an untrained export (PyTorch's initial statistics), else the file's.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, decodeOnnxModel } from '@omnidistill/artifacts';
import { defaultBatchNormMode, hasInitialBatchNormStatistics } from '@omnidistill/models';
import { randomFloats } from './helpers.js';

/** conv → BatchNorm (statistics `mean`, `variance`) → conv → BatchNorm with trained statistics unless `freshSecond`. */
function model(mean: number, variance: number, freshSecond = true) {
  const g = new GraphBuilder({ phase: 'eval' });
  let h = g.input('input', 'float32', [1, 3, 8, 8]);
  for (const [i, fresh] of [[0, true], [1, freshSecond]] as const) {
    h = g.conv(h, g.param(`conv${i}.weight`, [3, 3, 1, 1], randomFloats(9, i + 1)), undefined, {});
    const stat = (name: string, value: number, seed: number) => g.param(name, [3], fresh ? new Float32Array(3).fill(value) : randomFloats(3, seed, 0.5, 1.5));
    h = g.batchNorm(h, g.param(`bn${i}.weight`, [3], new Float32Array(3).fill(1)), g.param(`bn${i}.bias`, [3], new Float32Array(3)), stat(`bn${i}.running_mean`, mean, 7), stat(`bn${i}.running_var`, variance, 8));
  }
  g.output(h, 'out');
  return decodeOnnxModel(g.toModelBytes());
}

describe('defaultBatchNormMode', () => {
  it('batch statistics for an untrained export (every BatchNorm at mean 0, variance 1)', () => {
    expect(hasInitialBatchNormStatistics(model(0, 1))).toBe(true);
    expect(defaultBatchNormMode(model(0, 1), false)).toMatchObject({ mode: 'batch', why: expect.stringMatching(/initial values/) });
  });

  it("the file's statistics (frozen) once any BatchNorm was trained", () => {
    expect(hasInitialBatchNormStatistics(model(0, 1, false))).toBe(false);
    expect(hasInitialBatchNormStatistics(model(0.1, 1))).toBe(false);
    expect(defaultBatchNormMode(model(0, 1, false), false)).toEqual({ mode: 'frozen' });
  });

  it('batch statistics for re-initialised weights whatever the file holds', () => {
    expect(defaultBatchNormMode(model(0, 1, false), true).mode).toBe('batch');
  });
});
