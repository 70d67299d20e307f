// Forward (original → transformed image) and inverse maps for boxes, RoIs and keypoints.
// Every map names its pixel convention; nothing is guessed.
import {
  OmniRangeError,
  OmniTypeError,
  boxCount,
  expectAllFinite,
  expectFloatArray,
  expectOneOf,
  flipPermutation,
  type BoxArray,
  type KeypointArray,
  type KeypointSchema,
} from '@omnidistill/core';
import type { TransformGeometry } from './geometry.js';

/**
 * How pixel coordinates are read.
 * - `continuous` (COCO, torchvision): a coordinate is a position on the real line, the image
 *   spans [0, W]; a horizontal flip maps x to W − x, a resize maps x to x · s.
 * - `pixelIndex` (Detectron): box corners are inclusive pixel indices, so box [x1, x2] covers
 *   the continuous span [x1, x2 + 1] and a point x is the centre x + 0.5 of pixel x. A flip maps
 *   box x1 to W − x2 − 1 (points: W − 1 − x); a resize maps the covered span, i.e.
 *   x1 → x1 · s, x2 → (x2 + 1) · s − 1 (points: (x + 0.5) · s − 0.5).
 *   Detectron itself rescales box corners by plain multiplication (x2 → x2 · s); that differs
 *   from ours by (s − 1) px on x2/y2 and does not commute with flipping, which ours does.
 */
export type PixelConvention = 'continuous' | 'pixelIndex';

export const PIXEL_CONVENTIONS: readonly PixelConvention[] = Object.freeze(['continuous', 'pixelIndex']);

/** Options of every box/RoI map. */
export interface BoxMapOptions {
  /** Required: how the coordinates are read (see {@link PixelConvention}). */
  convention: PixelConvention;
}

function readConvention(options: unknown): PixelConvention {
  if (options === null || typeof options !== 'object') {
    throw new OmniTypeError('options', 'an object with a `convention` field', options);
  }
  return expectOneOf((options as BoxMapOptions).convention, 'options.convention', PIXEL_CONVENTIONS);
}

function checkedBoxes(boxes: BoxArray, path: string): number {
  expectFloatArray(boxes, path);
  const n = boxCount(boxes, path);
  expectAllFinite(boxes, path);
  return n;
}

/**
 * Maps `[N, 4]` boxes from the original image into the transformed image (resize, then flip).
 * Returns a new Float64Array.
 */
export function forwardBoxes(boxes: BoxArray, t: TransformGeometry, options: BoxMapOptions): Float64Array {
  const convention = readConvention(options);
  const n = checkedBoxes(boxes, 'boxes');
  const out = new Float64Array(4 * n);
  const e = convention === 'pixelIndex' ? 1 : 0; // extent of one pixel in the corner convention
  const { scaleX: sx, scaleY: sy } = t;
  const w = t.target.width;
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const x1 = boxes[o] * sx;
    const y1 = boxes[o + 1] * sy;
    const x2 = (boxes[o + 2] + e) * sx - e;
    const y2 = (boxes[o + 3] + e) * sy - e;
    if (t.flip) {
      out[o] = w - e - x2;
      out[o + 2] = w - e - x1;
    } else {
      out[o] = x1;
      out[o + 2] = x2;
    }
    out[o + 1] = y1;
    out[o + 3] = y2;
  }
  return out;
}

/**
 * Maps `[N, 4]` boxes predicted on the transformed image back to the original image
 * (un-flip, then un-resize). Exact inverse of {@link forwardBoxes}. Returns a new Float64Array.
 */
export function inverseBoxes(boxes: BoxArray, t: TransformGeometry, options: BoxMapOptions): Float64Array {
  const convention = readConvention(options);
  const n = checkedBoxes(boxes, 'boxes');
  const out = new Float64Array(4 * n);
  inverseBoxesInto(boxes, t, convention, out, 0);
  return out;
}

/**
 * Inverse map written into `out` starting at box `at` (no validation: callers validated).
 * Used by the detection merge to build the union without intermediate arrays.
 */
export function inverseBoxesInto(boxes: BoxArray, t: TransformGeometry, convention: PixelConvention, out: Float64Array, at: number): void {
  const n = boxes.length >> 2;
  const e = convention === 'pixelIndex' ? 1 : 0;
  const sx = t.scaleX;
  const sy = t.scaleY;
  const w = t.target.width;
  const flip = t.flip;
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const p = 4 * (at + i);
    let x1 = boxes[o];
    let x2 = boxes[o + 2];
    if (flip) {
      const f1 = w - e - x2;
      x2 = w - e - x1;
      x1 = f1;
    }
    out[p] = x1 / sx;
    out[p + 1] = boxes[o + 1] / sy;
    out[p + 2] = (x2 + e) / sx - e;
    out[p + 3] = (boxes[o + 3] + e) / sy - e;
  }
}

/**
 * RoIs are boxes: same maps, named for readability at call sites that project the RoIs of the
 * identity pass into every transformed image (REFERENCE.md §3).
 */
export function forwardRois(rois: BoxArray, t: TransformGeometry, options: BoxMapOptions): Float64Array {
  return forwardBoxes(rois, t, options);
}

/** Inverse of {@link forwardRois}. */
export function inverseRois(rois: BoxArray, t: TransformGeometry, options: BoxMapOptions): Float64Array {
  return inverseBoxes(rois, t, options);
}

/** Options of the keypoint maps. */
export interface KeypointMapOptions {
  /** Required: how the coordinates are read (see {@link PixelConvention}). */
  convention: PixelConvention;
  /**
   * Left/right channel pairs swapped by a flip. Required when the transform flips (give this
   * or `schema`); a flip without a flip map is an error, never a silently unswapped result.
   */
  flipPairs?: readonly (readonly [number, number])[];
  /** Keypoint schema whose `flipPairs` (and K) are used. */
  schema?: KeypointSchema;
  /**
   * When true the third value is a COCO visibility flag and unlabeled keypoints
   * (v = 0, stored as 0, 0, 0) stay 0, 0, 0. Default false: the third value is a score and
   * every keypoint is mapped.
   */
  visibility?: boolean;
}

/** Resolves the flip permutation for a flipped transform, validating the flip map against K. */
function keypointPermutation(options: KeypointMapOptions, k: number, flip: boolean): Int32Array | null {
  const { schema, flipPairs } = options;
  if (schema !== undefined && flipPairs !== undefined) {
    throw new OmniTypeError('options', 'either `schema` or `flipPairs`, not both', options);
  }
  if (schema !== undefined) {
    if (schema === null || typeof schema !== 'object' || !Array.isArray(schema.flipPairs)) {
      throw new OmniTypeError('options.schema', 'a KeypointSchema', schema);
    }
    if (schema.keypoints.length !== k) {
      throw new OmniRangeError('options.schema', `a schema with K = ${k} keypoints (the keypoint array's K)`, schema.keypoints.length);
    }
  }
  const pairs = schema !== undefined ? schema.flipPairs : flipPairs;
  if (pairs === undefined) {
    if (!flip) return null;
    throw new OmniTypeError('options.flipPairs', 'the left/right flip pairs (or options.schema) for a flipped transform', pairs);
  }
  const perm = flipPermutation(pairs, k); // throws on an inconsistent map
  return flip ? perm : null;
}

function checkedKeypoints(kps: KeypointArray): void {
  if (kps === null || typeof kps !== 'object') throw new OmniTypeError('keypoints', 'a KeypointArray { data, n, k }', kps);
  if (!Number.isInteger(kps.n) || kps.n < 0) throw new OmniTypeError('keypoints.n', 'an integer >= 0', kps.n);
  if (!Number.isInteger(kps.k) || kps.k < 1) throw new OmniTypeError('keypoints.k', 'a positive integer', kps.k);
  expectFloatArray(kps.data, 'keypoints.data', kps.n * kps.k * 3);
  expectAllFinite(kps.data, 'keypoints.data');
}

/**
 * Maps `[N, K, 3]` keypoints (x, y, score-or-visibility) from the original image into the
 * transformed image. On a flip, left/right channels are swapped through the flip map.
 */
export function forwardKeypoints(kps: KeypointArray, t: TransformGeometry, options: KeypointMapOptions): KeypointArray {
  return mapKeypoints(kps, t, options, 'forward');
}

/** Inverse of {@link forwardKeypoints}: back to the original image, channels un-swapped. */
export function inverseKeypoints(kps: KeypointArray, t: TransformGeometry, options: KeypointMapOptions): KeypointArray {
  return mapKeypoints(kps, t, options, 'inverse');
}

function mapKeypoints(kps: KeypointArray, t: TransformGeometry, options: KeypointMapOptions, dir: 'forward' | 'inverse'): KeypointArray {
  const convention = readConvention(options);
  checkedKeypoints(kps);
  const perm = keypointPermutation(options, kps.k, t.flip);
  const visibility = options.visibility ?? false;
  if (typeof visibility !== 'boolean') throw new OmniTypeError('options.visibility', 'a boolean', visibility);
  const { n, k, data } = kps;
  const out = new Float32Array(n * k * 3);
  const h = convention === 'pixelIndex' ? 0.5 : 0; // point = centre of its pixel
  const flipEdge = convention === 'pixelIndex' ? t.target.width - 1 : t.target.width;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      // Output channel c takes the content of channel perm[c]: the person's left wrist seen
      // in a mirrored image is where the right wrist was.
      const src = 3 * (i * k + (perm === null ? c : perm[c]));
      const dst = 3 * (i * k + c);
      const v = data[src + 2];
      out[dst + 2] = v;
      if (visibility && v === 0) continue; // unlabeled: stays 0, 0, 0
      let x = data[src];
      let y = data[src + 1];
      if (dir === 'forward') {
        x = (x + h) * t.scaleX - h;
        y = (y + h) * t.scaleY - h;
        if (t.flip) x = flipEdge - x;
      } else {
        if (t.flip) x = flipEdge - x;
        x = (x + h) / t.scaleX - h;
        y = (y + h) / t.scaleY - h;
      }
      out[dst] = x;
      out[dst + 1] = y;
    }
  }
  return { data: out, n, k };
}
