// Intersection over union in both pixel conventions.
import type { BoxArray } from '@omnidistill/core';
import type { BoxColumns } from './grid.js';
import { toBoxArray, type BoxesInput } from './inputs.js';
import { checkBoxes, checkConvention, checkOptions, type PixelConventionInput } from './validate.js';

export interface IouOptions {
  /**
   * `continuous` (default; COCO, torchvision): w = x2 − x1. `pixelIndex` (Detectron's
   * `bbox_overlaps`, there called `plusOne`, accepted as an alias): corners are inclusive
   * pixel indices, w = x2 − x1 + 1.
   */
  convention?: PixelConventionInput;
}

/**
 * IoU of two boxes given by corners; `e` is 0 (continuous) or 1 (pixel-index).
 * Disjoint boxes give 0; two empty boxes (union 0) give 0, never NaN.
 */
export function iouOf(
  ax1: number, ay1: number, ax2: number, ay2: number,
  bx1: number, by1: number, bx2: number, by2: number,
  e: number,
): number {
  const w = Math.min(ax2, bx2) - Math.max(ax1, bx1) + e;
  if (w <= 0) return 0;
  const h = Math.min(ay2, by2) - Math.max(ay1, by1) + e;
  if (h <= 0) return 0;
  const inter = w * h;
  const union = (ax2 - ax1 + e) * (ay2 - ay1 + e) + (bx2 - bx1 + e) * (by2 - by1 + e) - inter;
  return union > 0 ? inter / union : 0;
}

/** IoU of boxes `i` and `j` of columns `c`. */
export function iouCols(c: BoxColumns, i: number, j: number, e: number): number {
  return iouOf(c.x1[i], c.y1[i], c.x2[i], c.y2[i], c.x1[j], c.y1[j], c.x2[j], c.y2[j], e);
}

/**
 * The `[Na, Nb]` IoU matrix of two box sets (row-major: `out[i * Nb + j] = IoU(a_i, b_j)`).
 *
 * @example
 * iouMatrix(new Float64Array([0, 0, 10, 10]), new Float64Array([5, 0, 15, 10])); // [1/3]
 * iouMatrix([[0, 0, 10, 10]], [[5, 0, 15, 10]]); // the same
 */
export function iouMatrix(boxesA: BoxesInput, boxesB: BoxesInput, options?: IouOptions): Float64Array {
  const a = toBoxArray(boxesA, 'a');
  const b = toBoxArray(boxesB, 'b');
  const opts = checkOptions(options);
  const e = checkConvention(opts.convention, 'options.convention') === 'pixelIndex' ? 1 : 0;
  const na = checkBoxes(a, 'a');
  const nb = checkBoxes(b, 'b');
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    const ax1 = a[4 * i];
    const ay1 = a[4 * i + 1];
    const ax2 = a[4 * i + 2];
    const ay2 = a[4 * i + 3];
    for (let j = 0; j < nb; j++) {
      out[i * nb + j] = iouOf(ax1, ay1, ax2, ay2, b[4 * j], b[4 * j + 1], b[4 * j + 2], b[4 * j + 3], e);
    }
  }
  return out;
}

/** Gathers boxes (in the order `order`, or as is) into coordinate columns. */
export function toColumns(boxes: BoxArray, order?: Int32Array): BoxColumns {
  const n = order ? order.length : boxes.length >> 2;
  const cols: BoxColumns = { x1: new Float64Array(n), y1: new Float64Array(n), x2: new Float64Array(n), y2: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const o = 4 * (order ? order[i] : i);
    cols.x1[i] = boxes[o];
    cols.y1[i] = boxes[o + 1];
    cols.x2[i] = boxes[o + 2];
    cols.y2[i] = boxes[o + 3];
  }
  return cols;
}
