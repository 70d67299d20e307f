import { describe, expect, it } from 'vitest';
import { keypointTargets } from '@omnidistill/models';

const M = 28;
const roi = [10, 20, 38, 48]; // 28 × 28 pixels: one pixel per cell

function one(x: number, y: number, v: number, box = roi) {
  const t = keypointTargets([x, y, v], box, M);
  return { index: Number(t.target[0]), weight: t.weight[0] };
}

describe('keypoint targets (Mask R-CNN one-hot cells)', () => {
  it('maps a keypoint to floor((x − x1)·M/w), floor((y − y1)·M/h)', () => {
    expect(one(15.5, 25.2, 2)).toEqual({ index: 5 * M + 5, weight: 1 });
    // non-square RoI: 56 px wide → two pixels per cell in x
    expect(one(10 + 7.9, 20 + 3, 1, [10, 20, 66, 48])).toEqual({ index: 3 * M + 3, weight: 1 });
  });

  it('puts a keypoint exactly on the right/bottom edge into the last cell', () => {
    expect(one(38, 48, 2)).toEqual({ index: (M - 1) * M + (M - 1), weight: 1 });
    expect(one(10, 48, 2)).toEqual({ index: (M - 1) * M, weight: 1 });
  });

  it('keeps the top-left corner (cell 0) and drops points just outside', () => {
    expect(one(10, 20, 2)).toEqual({ index: 0, weight: 1 });
    expect(one(9.99, 25, 2).weight).toBe(0);
    expect(one(38.01, 25, 2).weight).toBe(0);
    expect(one(20, 48.5, 2).weight).toBe(0);
  });

  it('gives unlabeled keypoints (v = 0) no weight, wherever they are', () => {
    expect(one(15, 25, 0)).toEqual({ index: 0, weight: 0 });
  });

  it('handles several RoIs and keypoints, and rejects ragged input', () => {
    const t = keypointTargets([11, 21, 2, 100, 100, 2, 0, 0, 2, 1, 1, 2], [10, 20, 38, 48, 0, 0, 28, 28], M);
    expect(Array.from(t.weight)).toEqual([1, 0, 1, 1]);
    expect(Array.from(t.target, Number)).toEqual([1 * M + 1, 0, 0, 1 * M + 1]);
    expect(() => keypointTargets([1, 2, 2, 3], [0, 0, 1, 1], M)).toThrow(/keypoints.length/);
    expect(() => keypointTargets([1, 2, 2], [0, 0, 1], M)).toThrow(/rois.length/);
  });
});
