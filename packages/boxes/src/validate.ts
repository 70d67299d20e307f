// Input checks shared by every box function. Errors name the field, the expectation and the
// received value, so a bad box among 50 000 is found at once.
import {
  OmniRangeError,
  OmniTypeError,
  boxCount,
  expectFiniteNumber,
  expectFloatArray,
  expectInRange,
  expectOneOf,
  type BoxArray,
  type Detections,
  type ImageSize,
} from '@omnidistill/core';
import { PIXEL_CONVENTIONS, expectImageSize, type PixelConvention } from '@omnidistill/transforms';

/** Checks `[N, 4]` boxes: a float typed array, finite, x2 >= x1 and y2 >= y1. Returns N. */
export function checkBoxes(boxes: unknown, path: string): number {
  const arr = expectFloatArray(boxes, path);
  const n = boxCount(arr, path);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const x1 = arr[o];
    const y1 = arr[o + 1];
    const x2 = arr[o + 2];
    const y2 = arr[o + 3];
    // One comparison chain for the fast path; the slow path names the exact field.
    if (!(x2 >= x1 && y2 >= y1 && Number.isFinite(x1) && Number.isFinite(y1) && Number.isFinite(x2) && Number.isFinite(y2))) {
      for (let c = 0; c < 4; c++) {
        if (!Number.isFinite(arr[o + c])) throw new OmniRangeError(`${path}[${i}].${['x1', 'y1', 'x2', 'y2'][c]}`, 'a finite number', arr[o + c]);
      }
      if (x2 < x1) throw new OmniRangeError(`${path}[${i}].x2`, `a number >= x1 (${x1})`, x2);
      throw new OmniRangeError(`${path}[${i}].y2`, `a number >= y1 (${y1})`, y2);
    }
  }
  return n;
}

/** Checks `[N]` scores: a float typed array of finite numbers, optionally within [lo, hi]. */
export function checkScores(scores: unknown, path: string, n: number, range?: readonly [number, number]): void {
  const arr = expectFloatArray(scores, path, n);
  const lo = range ? range[0] : -Infinity;
  const hi = range ? range[1] : Infinity;
  for (let i = 0; i < n; i++) {
    const s = arr[i];
    if (!(s >= lo && s <= hi && Number.isFinite(s))) {
      if (!Number.isFinite(s)) throw new OmniRangeError(`${path}[${i}]`, 'a finite number', s);
      throw new OmniRangeError(`${path}[${i}]`, `a score in [${lo}, ${hi}]`, s);
    }
  }
}

/** Checks `[N]` integer labels (an Int32Array). */
export function checkLabels(labels: unknown, path: string, n: number): Int32Array {
  if (!(labels instanceof Int32Array)) throw new OmniTypeError(path, 'an Int32Array', labels);
  if (labels.length !== n) throw new OmniRangeError(path, `${n} elements (one per box)`, labels);
  return labels;
}

/** Checks one image's detections (boxes, scores, labels of matching lengths). Returns N. */
export function checkDetections(d: unknown, path: string, scoreRange?: readonly [number, number]): number {
  if (d === null || typeof d !== 'object') throw new OmniTypeError(path, 'detections { boxes, scores, labels }', d);
  const det = d as Detections;
  const n = checkBoxes(det.boxes, `${path}.boxes`);
  checkScores(det.scores, `${path}.scores`, n, scoreRange);
  checkLabels(det.labels, `${path}.labels`, n);
  return n;
}

/** An IoU-like threshold in [0, 1]. */
export function checkThreshold(value: unknown, path: string): number {
  return expectInRange(value, path, 0, 1);
}

/** A strictly positive finite number. */
export function checkPositive(value: unknown, path: string): number {
  const v = expectFiniteNumber(value, path);
  if (!(v > 0)) throw new OmniRangeError(path, 'a positive number', v);
  return v;
}

/**
 * A pixel convention as the options accept it: `continuous` (pixel i spans [i, i + 1),
 * torchvision), `pixelIndex` (inclusive corners, widths +1, Detectron), or `plusOne`,
 * Detectron's own name for `pixelIndex` (an alias).
 */
export type PixelConventionInput = PixelConvention | 'plusOne';
const CONVENTION_NAMES: readonly PixelConventionInput[] = Object.freeze([...PIXEL_CONVENTIONS, 'plusOne']);

/** The convention an option names (`plusOne` → `pixelIndex`); `fallback` when undefined (null: required). */
export function checkConvention(value: unknown, path: string, fallback: PixelConvention | null = 'continuous'): PixelConvention {
  const name = expectOneOf(value ?? fallback, path, CONVENTION_NAMES);
  return name === 'plusOne' ? 'pixelIndex' : name;
}

export function checkImage(value: unknown, path: string): ImageSize {
  return expectImageSize(value, path);
}

/** Options must be an object (or undefined, meaning all defaults). */
export function checkOptions<T extends object>(options: T | undefined, path = 'options'): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new OmniTypeError(path, 'an object', options);
  return options;
}

export type { BoxArray };
