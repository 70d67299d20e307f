// Test-time transform plans (scales × flip) and the coordinate maps between an original
// image and its transformed copies, for boxes, RoIs and keypoints.
export { DEFAULT_MAX_LONG_SIDE, PAPER_SCALES, IDENTITY, isIdentity, isOriginalSize, scalePlan, relativePlan, paperPlan, customPlan } from './plan.js';
export {
  PAPER_REFERENCE_SIDE,
  PAPER_RELATIVE_FACTORS,
  UPSAMPLE_WARNING_FACTOR,
  parseScaleList,
  medianImageSize,
  dataSizedPlan,
  upsamplingWarnings,
} from './plan-data.js';
export type { DataSizedPlan } from './plan-data.js';
export type { TransformSpec, TransformPlan, ScalePlanOptions, TransformInput } from './plan.js';
export { resolveTransform, resolvePlan, roundHalfEven, expectImageSize } from './geometry.js';
export type { TransformGeometry, ScaleDirection } from './geometry.js';
export {
  PIXEL_CONVENTIONS,
  forwardBoxes,
  inverseBoxes,
  inverseBoxesInto,
  forwardRois,
  inverseRois,
  forwardKeypoints,
  inverseKeypoints,
} from './maps.js';
export type { PixelConvention, BoxMapOptions, KeypointMapOptions } from './maps.js';
export { DEFAULT_AREA_THRESHOLD, sizeDependentMask } from './sizemask.js';
export type { SizeMaskOptions } from './sizemask.js';
