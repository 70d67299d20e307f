// Precise validation of raw prediction records (they come from files, so trust nothing).
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectInteger } from '@omnidistill/core';
import type { RawImagePrediction, RawInstance } from './types.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks one raw prediction record and returns it typed. `numKeypoints` (when given)
 * requires every instance to carry exactly that many keypoints; `null` forbids none and
 * requires none.
 */
export function validateRawImagePrediction(value: unknown, path: string, numKeypoints?: number): RawImagePrediction {
  if (!isObject(value)) throw new OmniTypeError(path, 'an object', value);
  expectInteger(value.imageId, `${path}.imageId`, 0);
  if (typeof value.fileName !== 'string' || value.fileName === '') {
    throw new OmniTypeError(`${path}.fileName`, 'a non-empty string', value.fileName);
  }
  expectInteger(value.width, `${path}.width`, 1);
  expectInteger(value.height, `${path}.height`, 1);
  if (!Array.isArray(value.instances)) throw new OmniTypeError(`${path}.instances`, 'an array', value.instances);
  const instances = value.instances;
  for (let i = 0; i < instances.length; i++) validateRawInstance(instances[i], path, i, numKeypoints);
  return value as unknown as RawImagePrediction;
}

const isFiniteNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks instance `i` of the record at `path`. Error paths (`path.instances[i].bbox[j]`) are
 * built only on failure: this runs for every instance of every image a labeling run predicts
 * and reads back (~100 per image), where eager path strings were most of its cost.
 */
function validateRawInstance(value: unknown, path: string, i: number, numKeypoints?: number): RawInstance {
  const at = () => `${path}.instances[${i}]`;
  if (!isObject(value)) throw new OmniTypeError(at(), 'an object', value);
  const bbox = value.bbox;
  if (!Array.isArray(bbox) || bbox.length !== 4) throw new OmniTypeError(`${at()}.bbox`, 'an [x1, y1, x2, y2] array', bbox);
  for (let j = 0; j < 4; j++) if (!isFiniteNumber(bbox[j])) expectFiniteNumber(bbox[j], `${at()}.bbox[${j}]`);
  if (bbox[2] < bbox[0]) throw new OmniRangeError(`${at()}.bbox[2]`, `x2 >= x1 = ${bbox[0]}`, bbox[2]);
  if (bbox[3] < bbox[1]) throw new OmniRangeError(`${at()}.bbox[3]`, `y2 >= y1 = ${bbox[1]}`, bbox[3]);
  if (!isFiniteNumber(value.score)) expectFiniteNumber(value.score, `${at()}.score`);
  const categoryId = value.categoryId;
  if (!(typeof categoryId === 'number' && Number.isInteger(categoryId) && categoryId >= 0)) expectInteger(categoryId, `${at()}.categoryId`, 0);
  if (numKeypoints !== undefined) {
    const kps = value.keypoints;
    if (!Array.isArray(kps)) throw new OmniTypeError(`${at()}.keypoints`, `an array of ${numKeypoints * 3} numbers`, kps);
    if (kps.length !== numKeypoints * 3) {
      throw new OmniRangeError(`${at()}.keypoints`, `${numKeypoints * 3} numbers (K = ${numKeypoints} × (x, y, score))`, kps);
    }
    for (let j = 0; j < kps.length; j++) if (!isFiniteNumber(kps[j])) expectFiniteNumber(kps[j], `${at()}.keypoints[${j}]`);
  }
  return value as unknown as RawInstance;
}
