// Mask R-CNN keypoint training targets (REFERENCE.md §2): each labeled keypoint inside its RoI
// becomes the flat index of one heatmap cell; everything else carries weight 0.
import { OmniRangeError, expectInteger } from '@omnidistill/core';

/** Targets of one RoI: flat cell index y·M + x per keypoint (0 where unused) and its weight. */
export interface KeypointTargets {
  readonly target: BigInt64Array;
  readonly weight: Float32Array;
}

/**
 * Writes the targets of one RoI into `target`/`weight` at keypoint offset `at`.
 * `keypoints` holds (x, y, v) triples in image pixels; `roi` is (x1, y1, x2, y2).
 * cell = floor((x − x1) · M / w) with w = x2 − x1, and a keypoint exactly on the right
 * (bottom) edge goes to cell M − 1; keypoints with v = 0 or outside the RoI are not targets.
 */
export function writeKeypointTargets(
  keypoints: ArrayLike<number>,
  roi: ArrayLike<number>,
  heatmapSize: number,
  target: BigInt64Array,
  weight: Float32Array,
  at: number,
): void {
  writeKeypointTargetsRect(keypoints, roi, heatmapSize, heatmapSize, target, weight, at);
}

/**
 * {@link writeKeypointTargets} for H × W heatmaps (top-down models: e.g. 64 × 48 for a
 * 256 × 192 crop): the flat index is cy · W + cx.
 */
export function writeKeypointTargetsRect(
  keypoints: ArrayLike<number>,
  roi: ArrayLike<number>,
  heatmapHeight: number,
  heatmapWidth: number,
  target: BigInt64Array,
  weight: Float32Array,
  at: number,
): void {
  const [mh, mw] = [heatmapHeight, heatmapWidth];
  const [x1, y1, x2, y2] = [roi[0], roi[1], roi[2], roi[3]];
  const sx = mw / (x2 - x1);
  const sy = mh / (y2 - y1);
  const k = keypoints.length / 3;
  for (let j = 0; j < k; j++) {
    const x = keypoints[3 * j];
    const y = keypoints[3 * j + 1];
    const v = keypoints[3 * j + 2];
    let cx = Math.floor((x - x1) * sx);
    let cy = Math.floor((y - y1) * sy);
    if (x === x2) cx = mw - 1;
    if (y === y2) cy = mh - 1;
    const ok = v > 0 && cx >= 0 && cy >= 0 && cx < mw && cy < mh && sx > 0 && sy > 0 && Number.isFinite(sx) && Number.isFinite(sy);
    target[at + j] = ok ? BigInt(cy * mw + cx) : 0n;
    weight[at + j] = ok ? 1 : 0;
  }
}

/**
 * Targets of RoIs [N, 4] with keypoints [N, K, 3] (image pixels) for M × M heatmaps.
 *
 * @example
 * keypointTargets(Float32Array.of(15, 15, 2), Float32Array.of(10, 10, 20, 20), 28)
 * // → target [14 · 28 + 14], weight [1]
 */
export function keypointTargets(keypoints: ArrayLike<number>, rois: ArrayLike<number>, heatmapSize: number): KeypointTargets {
  const m = expectInteger(heatmapSize, 'heatmapSize', 1);
  if (rois.length % 4 !== 0) throw new OmniRangeError('rois.length', 'a multiple of 4', rois.length);
  const n = rois.length / 4;
  if (n === 0 ? keypoints.length !== 0 : keypoints.length % (3 * n) !== 0) {
    throw new OmniRangeError('keypoints.length', `3·K per RoI (${n} RoIs)`, keypoints.length);
  }
  const k = n === 0 ? 0 : keypoints.length / (3 * n);
  const target = new BigInt64Array(n * k);
  const weight = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    writeKeypointTargets(
      Array.prototype.slice.call(keypoints, 3 * k * i, 3 * k * (i + 1)) as number[],
      [rois[4 * i], rois[4 * i + 1], rois[4 * i + 2], rois[4 * i + 3]],
      m,
      target,
      weight,
      k * i,
    );
  }
  return { target, weight };
}
