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
  value.instances.forEach((inst, i) => validateRawInstance(inst, `${path}.instances[${i}]`, numKeypoints));
  return value as unknown as RawImagePrediction;
}

function validateRawInstance(value: unknown, path: string, numKeypoints?: number): RawInstance {
  if (!isObject(value)) throw new OmniTypeError(path, 'an object', value);
  const bbox = value.bbox;
  if (!Array.isArray(bbox) || bbox.length !== 4) throw new OmniTypeError(`${path}.bbox`, 'an [x1, y1, x2, y2] array', bbox);
  bbox.forEach((v, j) => expectFiniteNumber(v, `${path}.bbox[${j}]`));
  if (bbox[2] < bbox[0]) throw new OmniRangeError(`${path}.bbox[2]`, `x2 >= x1 = ${bbox[0]}`, bbox[2]);
  if (bbox[3] < bbox[1]) throw new OmniRangeError(`${path}.bbox[3]`, `y2 >= y1 = ${bbox[1]}`, bbox[3]);
  expectFiniteNumber(value.score, `${path}.score`);
  expectInteger(value.categoryId, `${path}.categoryId`, 0);
  if (numKeypoints !== undefined) {
    const kps = value.keypoints;
    if (!Array.isArray(kps)) throw new OmniTypeError(`${path}.keypoints`, `an array of ${numKeypoints * 3} numbers`, kps);
    if (kps.length !== numKeypoints * 3) {
      throw new OmniRangeError(`${path}.keypoints`, `${numKeypoints * 3} numbers (K = ${numKeypoints} × (x, y, score))`, kps);
    }
    kps.forEach((v, j) => expectFiniteNumber(v, `${path}.keypoints[${j}]`));
  }
  return value as unknown as RawInstance;
}
