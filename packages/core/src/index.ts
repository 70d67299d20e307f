// Types, typed-array layouts, keypoint schemas and validation errors shared by every package.
export {
  describeValue,
  OmniTypeError,
  OmniRangeError,
  expectFiniteNumber,
  expectInteger,
  expectInRange,
  expectOneOf,
  expectFloatArray,
  expectAllFinite,
  InputFileError,
  FileWriteError,
} from './errors.js';
export type { NumericArray } from './errors.js';
export { boxCount } from './layouts.js';
export type { BoxArray, Detections, KeypointArray, HeatmapBatch, ImageSize } from './layouts.js';
export { defineKeypointSchema, validateFlipPairs, flipPermutation, COCO_PERSON } from './schemas.js';
export type { KeypointSchema } from './schemas.js';
