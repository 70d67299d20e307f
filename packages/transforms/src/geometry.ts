// Resize geometry of a transform for one image: the scale factor Detectron picks and the
// integer size the resized image actually has.
import { OmniRangeError, OmniTypeError, expectInteger, type ImageSize } from '@omnidistill/core';
import type { TransformSpec } from './plan.js';

/** Whether a transform shrinks, enlarges or keeps the image (drives size-dependent ensembling). */
export type ScaleDirection = 'down' | 'none' | 'up';

/** A transform resolved against one image: everything a coordinate map needs. */
export interface TransformGeometry {
  readonly spec: TransformSpec;
  /** Original image size. */
  readonly source: ImageSize;
  /** Size of the transformed image (integers, at least 1×1). */
  readonly target: ImageSize;
  /** Nominal scale factor (Detectron's `im_scale`). */
  readonly scale: number;
  /** Actual per-axis factors `target / source` used by every coordinate map. */
  readonly scaleX: number;
  readonly scaleY: number;
  readonly flip: boolean;
  readonly direction: ScaleDirection;
}

/**
 * Round half to even, like Python's `round`, NumPy's `np.round` and OpenCV's `cvRound`,
 * which Detectron uses for the size cap and for the resized size.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Validates an image size (positive integers) and returns it. */
export function expectImageSize(size: unknown, path: string): ImageSize {
  if (size === null || typeof size !== 'object') throw new OmniTypeError(path, 'an object { width, height }', size);
  const s = size as ImageSize;
  expectInteger(s.width, `${path}.width`, 1);
  expectInteger(s.height, `${path}.height`, 1);
  return s;
}

/**
 * The geometry of `spec` applied to an image of `size`:
 * `scale = shortSide / min(W, H)` (absolute) or `factor` (relative), reduced to `maxLongSide / max(W, H)` when
 * `round(scale · max(W, H)) > maxLongSide` (Detectron's `prep_im_for_blob`); the resized
 * image is `round(W · scale) × round(H · scale)` (OpenCV `resize` with fx = fy = scale).
 * Coordinate maps use the actual ratios `scaleX = W' / W`, `scaleY = H' / H`, so a box
 * touching the right edge of the original touches the right edge of the resized image.
 */
export function resolveTransform(spec: TransformSpec, size: ImageSize): TransformGeometry {
  const source = expectImageSize(size, 'size');
  const { width: w, height: h } = source;
  const original = spec.shortSide === null && spec.factor === null;
  let scale = 1;
  if (!original) {
    const long = Math.max(w, h);
    scale = spec.shortSide !== null ? spec.shortSide / Math.min(w, h) : spec.factor!;
    if (roundHalfEven(scale * long) > spec.maxLongSide) scale = spec.maxLongSide / long;
  }
  const tw = original ? w : roundHalfEven(w * scale);
  const th = original ? h : roundHalfEven(h * scale);
  if (tw < 1 || th < 1) {
    throw new OmniRangeError('size', `an image that stays at least 1×1 px under ${spec.name}`, `${w}x${h}`);
  }
  const direction: ScaleDirection = scale < 1 ? 'down' : scale > 1 ? 'up' : 'none';
  return Object.freeze({
    spec,
    source: Object.freeze({ width: w, height: h }),
    target: Object.freeze({ width: tw, height: th }),
    scale,
    scaleX: tw / w,
    scaleY: th / h,
    flip: spec.flip,
    direction,
  });
}

/** Resolves every transform of a plan for one image, in plan order. */
export function resolvePlan(plan: { readonly transforms: readonly TransformSpec[] }, size: ImageSize): TransformGeometry[] {
  return plan.transforms.map((t) => resolveTransform(t, size));
}
