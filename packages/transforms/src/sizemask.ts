// Detectron's size-dependent combination of keypoint test-time augmentation
// (`combine_heatmaps_size_dep`): small RoIs ignore the down-scaled passes, large RoIs ignore
// the up-scaled ones. Expressed as a [T, N] mask the heatmap ensembling kernel consumes.
import {
  OmniRangeError,
  OmniTypeError,
  boxCount,
  expectAllFinite,
  expectFiniteNumber,
  expectFloatArray,
  expectOneOf,
  type BoxArray,
} from '@omnidistill/core';
import type { TransformGeometry } from './geometry.js';
import { PIXEL_CONVENTIONS, type PixelConvention } from './maps.js';

/** Detectron's `TEST.KPS_AUG.AREA_TH`. */
export const DEFAULT_AREA_THRESHOLD = 180 * 180;

export interface SizeMaskOptions {
  /** Required: how RoI areas are measured (`pixelIndex`: (x2 − x1 + 1)(y2 − y1 + 1), as Detectron). */
  convention: PixelConvention;
  /** Area (in original-image px²) separating small from large RoIs (default 180²). */
  areaThreshold?: number;
}

/**
 * Which transforms to keep per RoI: `mask[t * N + n] = 1` when transform t contributes to RoI n.
 * A RoI with area < threshold drops the down-scaled transforms (scale < 1); a RoI with
 * area >= threshold drops the up-scaled ones (scale > 1); transforms at scale 1 (the identity
 * and its flip) are always kept, so no RoI is left without a transform when the plan has one.
 * `rois` are `[N, 4]` in original-image coordinates.
 */
export function sizeDependentMask(transforms: readonly TransformGeometry[], rois: BoxArray, options: SizeMaskOptions): Uint8Array {
  if (!Array.isArray(transforms) || transforms.length === 0) {
    throw new OmniTypeError('transforms', 'a non-empty array of TransformGeometry', transforms);
  }
  if (options === null || typeof options !== 'object') throw new OmniTypeError('options', 'an object with a `convention` field', options);
  const convention = expectOneOf(options.convention, 'options.convention', PIXEL_CONVENTIONS);
  const threshold = expectFiniteNumber(options.areaThreshold ?? DEFAULT_AREA_THRESHOLD, 'options.areaThreshold');
  if (threshold < 0) throw new OmniRangeError('options.areaThreshold', 'a number >= 0', threshold);
  expectFloatArray(rois, 'rois');
  const n = boxCount(rois, 'rois');
  expectAllFinite(rois, 'rois');
  const e = convention === 'pixelIndex' ? 1 : 0;
  const small = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const w = rois[4 * i + 2] - rois[4 * i] + e;
    const h = rois[4 * i + 3] - rois[4 * i + 1] + e;
    if (w < 0 || h < 0) throw new OmniRangeError(`rois[${i}]`, 'x2 >= x1 and y2 >= y1', `[${rois.subarray(4 * i, 4 * i + 4).join(', ')}]`);
    small[i] = w * h < threshold ? 1 : 0;
  }
  const mask = new Uint8Array(transforms.length * n);
  transforms.forEach((t, ti) => {
    for (let i = 0; i < n; i++) {
      const drop = (t.direction === 'down' && small[i] === 1) || (t.direction === 'up' && small[i] === 0);
      mask[ti * n + i] = drop ? 0 : 1;
    }
  });
  return mask;
}
