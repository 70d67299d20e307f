// The bounds the ts backend's pruned decode skips work by (src/group-bound.ts), checked against
// the values they bound, computed directly: a bound below a value it covers would make the
// decode miss the maximum on some map, which the cross-backend tests only catch by chance.
import { describe, expect, it } from 'vitest';
import { cubicAxis } from '@omnidistill/ensemble';
import { axisGroups, groupBlocks, groupBound, quickBound, sourceBlockBounds } from '../src/group-bound.js';
import { rng } from './helpers.js';

/** Axes the decode meets: shrunk (one output per group), about 4x and 18x upsampled, and a 1-px output. */
const AXES: [number, number][] = [
  [56, 32],
  [56, 215],
  [56, 1000],
  [12, 47],
  [7, 1],
];

/** The largest sum_i w_i R_i over R_i in [lo_i, hi_i] at one position: a corner of the box, in double. */
function exactMax(w: Float32Array, at: number, hi: number[], lo: number[]): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v += w[at + i] >= 0 ? w[at + i] * hi[i] : w[at + i] * lo[i];
  return v;
}

describe('groupBound and quickBound', () => {
  it.each(AXES)('%i -> %i: bound every position of every group for random tap ranges', (inSize, outSize) => {
    const { index, weight } = cubicAxis(inSize, outSize);
    const groups = axisGroups(index, weight, outSize);
    const r = rng(inSize * 1000 + outSize);
    let quickUsed = 0;
    for (let trial = 0; trial < 200; trial++) {
      const g = Math.floor(r() * groups.count);
      const hi: number[] = [], lo: number[] = [];
      for (let i = 0; i < 4; i++) {
        const a = r() * 8 - 4, b = r() * 8 - 4;
        hi.push(Math.max(a, b));
        lo.push(Math.min(a, b));
      }
      const bound = groupBound(groups, g, hi[0], lo[0], hi[1], lo[1], hi[2], lo[2], hi[3], lo[3]);
      const quick = quickBound(groups, g, lo[0], hi[1], hi[2], lo[3]);
      if (!Number.isNaN(quick)) quickUsed++;
      let most = -Infinity;
      for (let p = groups.start[g]; p < groups.start[g + 1]; p++) most = Math.max(most, exactMax(weight, 4 * p, hi, lo));
      expect(bound).toBeGreaterThanOrEqual(most - 1e-12);
      if (!Number.isNaN(quick)) expect(quick).toBeGreaterThanOrEqual(most - 1e-12);
    }
    // Bicubic taps keep their signs (outer <= 0, inner >= 0) on these axes: the quick bound applies.
    expect(quickUsed).toBe(200);
  });
});

describe('sourceBlockBounds', () => {
  it.each(AXES.filter(([, out]) => out > 1))('%i -> %i: each (row, block) range holds every x-resized value of the block', (m, W) => {
    const { index, weight } = cubicAxis(m, W);
    const groups = axisGroups(index, weight, W);
    const blocks = groupBlocks(groups, 16);
    const count = blocks.length - 1;
    const r = rng(m + W);
    const map = new Float32Array(m * m).map(() => r() * 8 - 4);
    const hi = new Float64Array(m * count), lo = new Float64Array(m * count);
    // The caller's constant: M (sum of weights - its middle) for |M| <= mapAbs (here 4); no float32 slack.
    sourceBlockBounds(map, 0, m, groups, blocks, 4 * groups.sumHalfMax, hi, lo);
    for (let row = 0; row < m; row++) {
      for (let b = 0; b < count; b++) {
        let most = -Infinity, least = Infinity;
        for (let x = groups.start[blocks[b]]; x < groups.start[blocks[b + 1]]; x++) {
          let v = 0;
          for (let j = 0; j < 4; j++) v += weight[4 * x + j] * map[row * m + index[4 * x + j]];
          most = Math.max(most, v);
          least = Math.min(least, v);
        }
        // (a + b + |a - b|) / 2 is within 2 ulp of the larger: the decode's slack covers that.
        expect(hi[row * count + b]).toBeGreaterThanOrEqual(most - 1e-12);
        expect(lo[row * count + b]).toBeLessThanOrEqual(least + 1e-12);
      }
    }
  });
});
