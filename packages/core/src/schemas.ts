// Keypoint schemas as data: names, left/right flip pairs, OKS sigmas and skeleton.
// A new schema (hands, animals) is one `defineKeypointSchema({...})` call away.
import { OmniRangeError, OmniTypeError, expectFiniteNumber } from './errors.js';

export interface KeypointSchema {
  /** Schema name, e.g. "coco-person". */
  readonly name: string;
  /** Keypoint names in channel order (K = names.length). */
  readonly keypoints: readonly string[];
  /** Left/right channel pairs swapped by a horizontal flip (0-based; each index at most once). */
  readonly flipPairs: readonly (readonly [number, number])[];
  /** Per-keypoint OKS sigmas (COCO: the σ of REFERENCE.md §5). */
  readonly sigmas: readonly number[];
  /** Limb connections, 0-based (COCO files store them 1-based). */
  readonly skeleton: readonly (readonly [number, number])[];
}

/** Validates a schema and returns it frozen. Errors name the offending field. */
export function defineKeypointSchema(schema: KeypointSchema): KeypointSchema {
  const k = schema.keypoints.length;
  if (typeof schema.name !== 'string' || schema.name === '') throw new OmniTypeError('schema.name', 'a non-empty string', schema.name);
  if (k === 0) throw new OmniRangeError('schema.keypoints', 'at least one keypoint name', schema.keypoints);
  if (new Set(schema.keypoints).size !== k) throw new OmniRangeError('schema.keypoints', 'unique names', schema.keypoints);
  if (schema.sigmas.length !== k) throw new OmniRangeError('schema.sigmas', `${k} sigmas (one per keypoint)`, schema.sigmas);
  schema.sigmas.forEach((s, i) => {
    expectFiniteNumber(s, `schema.sigmas[${i}]`);
    if (s <= 0) throw new OmniRangeError(`schema.sigmas[${i}]`, 'a positive number', s);
  });
  validateFlipPairs(schema.flipPairs, k, 'schema.flipPairs');
  schema.skeleton.forEach(([a, b], i) => {
    for (const v of [a, b]) {
      if (!Number.isInteger(v) || v < 0 || v >= k) throw new OmniRangeError(`schema.skeleton[${i}]`, `indices in [0, ${k - 1}]`, v);
    }
  });
  return Object.freeze({
    name: schema.name,
    keypoints: Object.freeze([...schema.keypoints]),
    flipPairs: Object.freeze(schema.flipPairs.map((p) => Object.freeze([p[0], p[1]] as const))),
    sigmas: Object.freeze([...schema.sigmas]),
    skeleton: Object.freeze(schema.skeleton.map((p) => Object.freeze([p[0], p[1]] as const))),
  });
}

/** Throws unless `pairs` are distinct in-range index pairs, each index used at most once. */
export function validateFlipPairs(pairs: readonly (readonly [number, number])[], k: number, path = 'flipPairs'): void {
  if (!Array.isArray(pairs)) throw new OmniTypeError(path, 'an array of [left, right] index pairs', pairs);
  const seen = new Set<number>();
  pairs.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new OmniTypeError(`${path}[${i}]`, 'a [left, right] pair', pair);
    for (const v of pair) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= k) {
        throw new OmniRangeError(`${path}[${i}]`, `indices in [0, ${k - 1}] (K = ${k})`, v);
      }
      if (seen.has(v)) throw new OmniRangeError(`${path}[${i}]`, 'each keypoint in at most one pair', v);
      seen.add(v);
    }
    if (pair[0] === pair[1]) throw new OmniRangeError(`${path}[${i}]`, 'two different indices', pair[0]);
  });
}

/**
 * The channel permutation of a horizontal flip: `perm[c]` is the channel whose content
 * moves to channel `c` (an involution; unpaired channels map to themselves).
 */
export function flipPermutation(pairs: readonly (readonly [number, number])[], k: number): Int32Array {
  validateFlipPairs(pairs, k);
  const perm = new Int32Array(k);
  for (let c = 0; c < k; c++) perm[c] = c;
  for (const [a, b] of pairs) {
    perm[a] = b;
    perm[b] = a;
  }
  return perm;
}

/** COCO person: 17 keypoints; the person's left is the image's right in a frontal view. */
export const COCO_PERSON: KeypointSchema = defineKeypointSchema({
  name: 'coco-person',
  keypoints: [
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
    'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
  ],
  flipPairs: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]],
  sigmas: [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089],
  // COCO's skeleton, converted from 1-based to 0-based.
  skeleton: [
    [15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8],
    [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6],
  ],
});
