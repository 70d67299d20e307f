// Box, area and similarity arithmetic shared by the reference and the fast evaluator,
// written in pycocotools' operation order so both produce the same doubles.
import { CocoValidationError } from './validate.js';
import type { CocoResult } from './types.js';
import type { CocoResultsColumns } from './results-columns.js';
import { NP_SPACING_1, npSum } from './numeric.js';

/** Detection boxes `[x, y, w, h]` (flat, 4 per result) and areas, as pycocotools' loadRes derives them. */
export interface ResultGeometry {
  boxes: Float64Array;
  areas: Float64Array;
}

/**
 * pycocotools' `loadRes` decides from the FIRST result: if it has a non-empty box, every
 * result's area is its box's w·h; otherwise box and area come from the extent of the
 * keypoints (any box given is replaced). Reproduced, with an error instead of a crash when
 * a later result lacks the box the first one promised.
 */
export function resultGeometry(results: readonly CocoResult[]): ResultGeometry {
  const n = results.length;
  const geo: ResultGeometry = { boxes: new Float64Array(4 * n), areas: new Float64Array(n) };
  // one loop per mode (each its own function: see the note at eval.ts' column builders)
  if (n > 0 && results[0].bbox !== undefined) geometryFromBoxes(results, geo);
  else geometryFromKeypoints(results, geo);
  return geo;
}

function missingBox(i: number): CocoValidationError {
  const message = `[${i}].bbox: expected a box, as results[0] has one (pycocotools takes the first result's fields for all), received undefined`;
  return new CocoValidationError('results', [{ path: `[${i}].bbox`, message }], 1);
}

function missingKeypoints(i: number): CocoValidationError {
  const message = `[${i}].keypoints: expected keypoints, as results[0] has no box, received undefined`;
  return new CocoValidationError('results', [{ path: `[${i}].keypoints`, message }], 1);
}

/** resultGeometry for results as columns (the same rule, doubles and errors). */
export function columnGeometry(c: CocoResultsColumns): ResultGeometry {
  const n = c.score.length;
  const geo: ResultGeometry = { boxes: new Float64Array(4 * n), areas: new Float64Array(n) };
  if (n > 0 && c.hasBox[0] === 1) columnGeometryFromBoxes(c, geo);
  else columnGeometryFromKeypoints(c, geo);
  return geo;
}

function columnGeometryFromBoxes(c: CocoResultsColumns, { boxes, areas }: ResultGeometry): void {
  for (let i = 0; i < c.hasBox.length; i++) {
    if (c.hasBox[i] !== 1) throw missingBox(i);
    for (let q = 0; q < 4; q++) boxes[4 * i + q] = c.bbox[4 * i + q];
    areas[i] = c.bbox[4 * i + 2] * c.bbox[4 * i + 3];
  }
}

function columnGeometryFromKeypoints(c: CocoResultsColumns, geo: ResultGeometry): void {
  for (let i = 0; i < c.kpCount.length; i++) {
    if (c.kpCount[i] <= 0) throw missingKeypoints(i);
    keypointBox(c.keypoints, c.kpStart[i], c.kpCount[i], geo, i);
  }
}

/** Writes the extent of keypoints k[s .. s + n) (all, or only the labeled ones) as [x0, y0, x1, y1] at `out[4 * j]`. */
export function keypointExtent(k: Float64Array, s: number, n: number, labeledOnly: boolean, out: Float64Array, j: number): void {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = s; i < s + n; i += 3) {
    if (labeledOnly && !(k[i + 2] > 0)) continue;
    const x = k[i], y = k[i + 1];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  out[4 * j] = x0;
  out[4 * j + 1] = y0;
  out[4 * j + 2] = x1;
  out[4 * j + 3] = y1;
}

/** The extent of keypoints k[s .. s + n) as box i [x, y, w, h] and its area, in pycocotools' operation order. */
function keypointBox(k: Float64Array, s: number, n: number, { boxes, areas }: ResultGeometry, i: number): void {
  keypointExtent(k, s, n, false, boxes, i);
  const w = boxes[4 * i + 2] - boxes[4 * i];
  const h = boxes[4 * i + 3] - boxes[4 * i + 1];
  boxes[4 * i + 2] = w;
  boxes[4 * i + 3] = h;
  areas[i] = w * h;
}

function geometryFromBoxes(results: readonly CocoResult[], { boxes, areas }: ResultGeometry): void {
  for (let i = 0; i < results.length; i++) {
    const b = results[i].bbox;
    if (b === undefined) throw missingBox(i);
    boxes[4 * i] = b[0];
    boxes[4 * i + 1] = b[1];
    boxes[4 * i + 2] = b[2];
    boxes[4 * i + 3] = b[3];
    areas[i] = b[2] * b[3];
  }
}

function geometryFromKeypoints(results: readonly CocoResult[], geo: ResultGeometry): void {
  for (let i = 0; i < results.length; i++) {
    const k = results[i].keypoints;
    if (k === undefined || k.length === 0) throw missingKeypoints(i);
    keypointBox(k, 0, k.length, geo, i);
  }
}

/**
 * IoU of detection box `d` with ground-truth box `g` (`[x, y, w, h]` at the given offsets),
 * as pycocotools' `bbIou`: for a crowd ground truth the union is the detection's area.
 */
export function boxIou(d: ArrayLike<number>, di: number, g: ArrayLike<number>, gi: number, crowd: boolean): number {
  const dx = d[di], dy = d[di + 1], dw = d[di + 2], dh = d[di + 3];
  const gx = g[gi], gy = g[gi + 1], gw = g[gi + 2], gh = g[gi + 3];
  const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
  if (w <= 0) return 0;
  const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
  if (h <= 0) return 0;
  const i = w * h;
  const da = dw * dh;
  const u = crowd ? da : da + gw * gh - i;
  return i / u;
}

/** `(2σ)²` per keypoint, pycocotools' `vars`. */
export function oksVars(sigmas: readonly number[]): Float64Array {
  const v = new Float64Array(sigmas.length);
  for (let i = 0; i < sigmas.length; i++) v[i] = (sigmas[i] * 2) ** 2;
  return v;
}

const EXP_MINUS_6 = Math.exp(-6);

/**
 * Object keypoint similarity of detection keypoints `d` (offset `di`) with one ground
 * truth (keypoints `g` from offset `gi`, its `area` and `box`), pycocotools' `computeOks` for one pair.
 * `scratch` holds at least K doubles. With `floor > 0` a pair that certainly scores
 * below `floor` may return 0 instead of its exact (also sub-floor) value.
 */
export function oks(
  d: ArrayLike<number>,
  di: number,
  g: ArrayLike<number>,
  gi: number,
  labeled: number,
  area: number,
  box: ArrayLike<number>,
  bi: number,
  vars: Float64Array,
  scratch: Float64Array,
  floor = -Infinity,
): number {
  const k = vars.length;
  const denom = area + NP_SPACING_1;
  let n = 0;
  if (labeled > 0) {
    // exponents first: they also bound the OKS (a term with e >= 6 is at most e^-6), so a
    // pair that no threshold >= `floor` can match skips the exponentials
    let near = 0;
    for (let j = 0; j < k; j++) {
      if (!(g[gi + 3 * j + 2] > 0)) continue;
      const dx = d[di + 3 * j] - g[gi + 3 * j];
      const dy = d[di + 3 * j + 1] - g[gi + 3 * j + 1];
      const e = (dx * dx + dy * dy) / vars[j] / denom / 2;
      if (e < 6) near++;
      scratch[n++] = e;
    }
    if (floor > 0 && (near + (n - near) * EXP_MINUS_6) / n < floor - 1e-9) return 0;
    for (let j = 0; j < n; j++) scratch[j] = Math.exp(-scratch[j]);
  } else {
    const bx = box[bi], by = box[bi + 1], bw = box[bi + 2], bh = box[bi + 3];
    const x0 = bx - bw, x1 = bx + bw * 2, y0 = by - bh, y1 = by + bh * 2;
    for (let j = 0; j < k; j++) {
      const xd = d[di + 3 * j], yd = d[di + 3 * j + 1];
      const dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
      const dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
      const e = (dx * dx + dy * dy) / vars[j] / denom / 2;
      scratch[n++] = Math.exp(-e);
    }
  }
  return npSum(scratch, n) / n;
}
