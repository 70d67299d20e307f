// The fast COCOeval: same arithmetic and tie-breaking as pycocotools (and as
// eval-reference.ts, its test oracle), restructured around flat typed arrays:
//  - ground truths and detections are bucketed per image with counting sorts (ids looked
//    up in dense tables, never string keys), and only non-empty image×category cells are
//    visited;
//  - keypoint pairs that no OKS threshold can match are rejected by cheap bounds;
//  - each detection's outcome (TP / FP / ignored) per area range and threshold is one byte;
//  - per category, detections are sorted by score ONCE; every (maxDets, area, threshold)
//    curve comes from one sweep over that order (a stable sort restricted to a subset is
//    the subset of the sorted order, so pycocotools' per-maxDets re-sorts are redundant),
//    and precision is read only at true positives.
// The two steps that do most of the work, matching (match-cells.ts) and accumulate
// (accumulate.ts), each take flat arrays in one call, so the native addon can replace them.
import type { CocoAnnotation, CocoDataset, CocoResult } from './types.js';
import type { EvalParams } from './params.js';
import type { CocoEvalResult } from './eval-types.js';
import { columnGeometry, oksVars } from './geometry.js';
import type { ResultGeometry } from './geometry.js';
import { isResultsColumns } from './results-columns.js';
import type { CocoResultsColumns } from './results-columns.js';
import { annotationColumnsOf } from './dataset-columns.js';
import type { AnnotationColumns } from './dataset-columns.js';
import { matchCells } from './match-cells.js';
import { accumulateOutcomes } from './accumulate.js';
import type { Accumulation, Accumulator } from './accumulate.js';
import type { CellMatch, CellMatcher } from './match-cells.js';
import { checkKeypointColumns, checkResultImageColumns } from './prepare.js';


/** Ground truths as columns; index = position among the evaluated annotations. */
interface GtColumns {
  n: number;
  img: Int32Array;
  /** position of the category in params.catIds (the pooling order when !useCats) */
  cat: Int32Array;
  id: Float64Array;
  area: Float64Array;
  crowd: Uint8Array;
  /** iscrowd, or (keypoints) num_keypoints == 0: ignored in every area range */
  ignore: Uint8Array;
  box: Float64Array;
  /** keypoints of ground truth j at kp[kpOff[j] ..] (keypoints only: the annotation columns' own array) */
  kp: Float64Array;
  kpOff: Int32Array;
}

/** Detections as columns; index = position among the evaluated results (file order). */
interface DtColumns {
  n: number;
  img: Int32Array;
  cat: Int32Array;
  score: Float64Array;
  area: Float64Array;
  box: Float64Array;
  /** keypoints of detection j at kp[kpOff[j] ..] (keypoints only; the results' own array when they came as columns) */
  kp: Float64Array;
  kpOff: Int32Array;
}

/**
 * Position of an id in a sorted id list, -1 when absent: a dense table when the ids are
 * small non-negative integers (the usual case, and much faster than a Map), else a Map.
 */
class IdIndex {
  private readonly table: Int32Array | undefined;
  private readonly map: Map<number, number> | undefined;
  constructor(ids: readonly number[]) {
    const max = ids.length > 0 ? ids[ids.length - 1] : 0;
    if (ids.length > 0 && ids[0] >= 0 && max <= 8 * ids.length + 4096) {
      this.table = new Int32Array(max + 1).fill(-1);
      ids.forEach((id, i) => (this.table![id] = i));
    } else {
      this.map = new Map();
      ids.forEach((id, i) => this.map!.set(id, i));
    }
  }
  get(id: number): number {
    if (this.table !== undefined) return id >= 0 && id < this.table.length ? this.table[id] : -1;
    return this.map!.get(id) ?? -1;
  }
}

/** Positions of the annotations of evaluated images and categories. */
function pickAnnotations(a: AnnotationColumns, imgIndex: IdIndex, catIndex: IdIndex): number[] {
  const picked: number[] = [];
  for (let i = 0; i < a.annId.length; i++) {
    if (imgIndex.get(a.annImageId[i]) >= 0 && catIndex.get(a.annCategoryId[i]) >= 0) picked.push(i);
  }
  return picked;
}

// The column builders below run once per evaluation, so each loop is its own function: a
// function holding several loops is compiled while it runs (on-stack replacement) at the
// first and deoptimised at each later one it had not reached yet, as noted at accumulate.ts' accumulateOutcomes().

/**
 * The annotations of `gt` as columns: the scanner's own while no one has read the records
 * (a dataset from a datasetParser), else the records copied into columns, so that one builder
 * serves both.
 */
function annotationColumns(gt: CocoDataset): AnnotationColumns {
  return annotationColumnsOf(gt) ?? columnsOfAnnotations(gt.annotations);
}

function columnsOfAnnotations(anns: readonly CocoAnnotation[]): AnnotationColumns {
  const n = anns.length;
  const c: AnnotationColumns = {
    annId: new Float64Array(n),
    annImageId: new Float64Array(n),
    annCategoryId: new Float64Array(n),
    area: new Float64Array(n),
    bbox: new Float64Array(4 * n),
    iscrowd: new Uint8Array(n),
    numKeypoints: new Float64Array(n),
    kpStart: new Int32Array(n),
    kpCount: new Int32Array(n),
    keypoints: new Float64Array(annotationKeypointTotal(anns)),
  };
  fillAnnotationColumns(c, anns);
  return c;
}

function annotationKeypointTotal(anns: readonly CocoAnnotation[]): number {
  let total = 0;
  for (let i = 0; i < anns.length; i++) total += anns[i].keypoints?.length ?? 0;
  return total;
}

function fillAnnotationColumns(c: AnnotationColumns, anns: readonly CocoAnnotation[]): void {
  let used = 0;
  for (let i = 0; i < anns.length; i++) {
    const a = anns[i];
    c.annId[i] = a.id;
    c.annImageId[i] = a.image_id;
    c.annCategoryId[i] = a.category_id;
    c.area[i] = a.area;
    for (let q = 0; q < 4; q++) c.bbox[4 * i + q] = a.bbox[q];
    c.iscrowd[i] = a.iscrowd === 1 ? 1 : 0;
    c.numKeypoints[i] = a.num_keypoints ?? -1;
    const k = a.keypoints;
    c.kpStart[i] = used;
    c.kpCount[i] = k === undefined ? -1 : k.length;
    if (k !== undefined) {
      c.keypoints.set(k, used);
      used += k.length;
    }
  }
}

function gtColumns(anns: AnnotationColumns, imgIndex: IdIndex, catIndex: IdIndex, keypoints: boolean): GtColumns {
  const picked = pickAnnotations(anns, imgIndex, catIndex);
  const n = picked.length;
  const c: GtColumns = {
    n,
    img: new Int32Array(n),
    cat: new Int32Array(n),
    id: new Float64Array(n),
    area: new Float64Array(n),
    crowd: new Uint8Array(n),
    ignore: new Uint8Array(n),
    box: new Float64Array(4 * n),
    kp: anns.keypoints,
    kpOff: new Int32Array(n),
  };
  fillGtColumns(c, anns, picked, imgIndex, catIndex, keypoints);
  return c;
}

function fillGtColumns(
  c: GtColumns, a: AnnotationColumns, picked: readonly number[], imgIndex: IdIndex, catIndex: IdIndex, keypoints: boolean,
): void {
  for (let j = 0; j < c.n; j++) {
    const i = picked[j];
    c.img[j] = imgIndex.get(a.annImageId[i]);
    c.cat[j] = catIndex.get(a.annCategoryId[i]);
    c.id[j] = a.annId[i];
    c.area[j] = a.area[i];
    c.crowd[j] = a.iscrowd[i];
    c.ignore[j] = a.iscrowd[i] === 1 || (keypoints && a.numKeypoints[i] === 0) ? 1 : 0;
    for (let q = 0; q < 4; q++) c.box[4 * j + q] = a.bbox[4 * i + q];
    // checkKeypointColumns has checked that every evaluated ground truth has its keypoints
    c.kpOff[j] = a.kpStart[i];
  }
}

/**
 * Records as columns (their keypoints copied into one array), so that one builder serves
 * both the records and the columns a scanner read.
 */
function columnsOfResults(results: readonly CocoResult[]): CocoResultsColumns {
  const n = results.length;
  const c: CocoResultsColumns = {
    imageId: new Float64Array(n),
    categoryId: new Float64Array(n),
    score: new Float64Array(n),
    bbox: new Float64Array(4 * n),
    hasBox: new Uint8Array(n),
    kpStart: new Int32Array(n),
    kpCount: new Int32Array(n),
    keypoints: new Float64Array(keypointTotal(results)),
  };
  fillResultColumns(c, results);
  return c;
}

function keypointTotal(results: readonly CocoResult[]): number {
  let total = 0;
  for (let i = 0; i < results.length; i++) total += results[i].keypoints?.length ?? 0;
  return total;
}

function fillResultColumns(c: CocoResultsColumns, results: readonly CocoResult[]): void {
  let used = 0;
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    c.imageId[i] = r.image_id;
    c.categoryId[i] = r.category_id;
    c.score[i] = r.score;
    const b = r.bbox;
    if (b !== undefined) {
      c.hasBox[i] = 1;
      for (let q = 0; q < 4; q++) c.bbox[4 * i + q] = b[q];
    }
    const k = r.keypoints;
    c.kpStart[i] = used;
    c.kpCount[i] = k === undefined ? -1 : k.length;
    if (k !== undefined) {
      c.keypoints.set(k, used);
      used += k.length;
    }
  }
}

/** Positions of the results of evaluated images and categories; `ignored` counts those of other categories. */
function pickResults(c: CocoResultsColumns, imgIndex: IdIndex, catIndex: IdIndex): { picked: number[]; ignored: number } {
  const picked: number[] = [];
  let ignored = 0;
  for (let i = 0; i < c.score.length; i++) {
    if (catIndex.get(c.categoryId[i]) < 0) ignored++;
    else if (imgIndex.get(c.imageId[i]) >= 0) picked.push(i);
  }
  return { picked, ignored };
}

function dtColumns(c: CocoResultsColumns, imgIndex: IdIndex, catIndex: IdIndex): { dt: DtColumns; ignoredResults: number } {
  const geo = columnGeometry(c);
  const { picked, ignored: ignoredResults } = pickResults(c, imgIndex, catIndex);
  const n = picked.length;
  const d: DtColumns = {
    n,
    img: new Int32Array(n),
    cat: new Int32Array(n),
    score: new Float64Array(n),
    area: new Float64Array(n),
    box: new Float64Array(4 * n),
    kp: c.keypoints,
    kpOff: new Int32Array(n),
  };
  fillDtColumns(d, c, picked, geo, imgIndex, catIndex);
  return { dt: d, ignoredResults };
}

function fillDtColumns(
  d: DtColumns, c: CocoResultsColumns, picked: readonly number[], geo: ResultGeometry, imgIndex: IdIndex, catIndex: IdIndex,
): void {
  for (let j = 0; j < d.n; j++) {
    const i = picked[j];
    d.img[j] = imgIndex.get(c.imageId[i]);
    d.cat[j] = catIndex.get(c.categoryId[i]);
    d.score[j] = c.score[i];
    d.area[j] = geo.areas[i];
    for (let q = 0; q < 4; q++) d.box[4 * j + q] = geo.boxes[4 * i + q];
    d.kpOff[j] = c.kpStart[i];
  }
}

/**
 * Orders items by (image, category position, original order) with a counting sort over
 * images and an insertion sort inside each image's (short) run. Returns the order and
 * the start of each image's run.
 */
function groupByImage(n: number, img: Int32Array, cat: Int32Array, numImages: number): { order: Int32Array; start: Int32Array } {
  const start = runStarts(n, img, numImages);
  const order = countingOrder(n, img, start, numImages);
  sortRunsByCategory(order, start, cat, numImages);
  return { order, start };
}

/** Where each image's run starts in the image-ordered list (`numImages + 1` entries). */
function runStarts(n: number, img: Int32Array, numImages: number): Int32Array {
  const start = new Int32Array(numImages + 1);
  for (let i = 0; i < n; i++) start[img[i] + 1]++;
  return prefixSums(start);
}

/** Running totals in place: a[i + 1] += a[i]. */
function prefixSums(a: Int32Array): Int32Array {
  for (let i = 0; i + 1 < a.length; i++) a[i + 1] += a[i];
  return a;
}

/** Items ordered by image, file order within an image (a counting sort). */
function countingOrder(n: number, img: Int32Array, start: Int32Array, numImages: number): Int32Array {
  const fill = start.slice(0, numImages);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[img[i]]++] = i;
  return order;
}

/** Insertion-sorts each image's (short) run by category, stably. */
function sortRunsByCategory(order: Int32Array, start: Int32Array, cat: Int32Array, numImages: number): void {
  for (let im = 0; im < numImages; im++) {
    const s = start[im], e = start[im + 1];
    for (let i = s + 1; i < e; i++) {
      const v = order[i];
      let j = i - 1;
      while (j >= s && cat[order[j]] > cat[v]) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = v;
    }
  }
}

/**
 * Lists the non-empty image × category cells category-major, then image-major, as
 * CellMatch.cells: five numbers per cell (k, g0, g1, d0, d1: ranges into the orders).
 */
function listCells(
  numImages: number,
  gt: GtColumns,
  gOrder: Int32Array,
  gStart: Int32Array,
  dt: DtColumns,
  dOrder: Int32Array,
  dStart: Int32Array,
  useCats: boolean,
  K: number,
): Int32Array {
  const byK: number[][] = Array.from({ length: K }, () => []);
  for (let im = 0; im < numImages; im++) {
    let g = gStart[im], d = dStart[im];
    const ge = gStart[im + 1], de = dStart[im + 1];
    if (!useCats) {
      if (g < ge || d < de) byK[0].push(0, g, ge, d, de);
      continue;
    }
    while (g < ge || d < de) {
      const kg = g < ge ? gt.cat[gOrder[g]] : Infinity;
      const kd = d < de ? dt.cat[dOrder[d]] : Infinity;
      const k = Math.min(kg, kd);
      const g0 = g, d0 = d;
      while (g < ge && gt.cat[gOrder[g]] === k) g++;
      while (d < de && dt.cat[dOrder[d]] === k) d++;
      byK[k].push(k, g0, g, d0, d);
    }
  }
  const cells = new Int32Array(byK.reduce((n, list) => n + list.length, 0));
  let at = 0;
  for (const list of byK) {
    cells.set(list, at);
    at += list.length;
  }
  return cells;
}

/**
 * Where each category's detections start in the layout (category-major, then image, then
 * score rank; `K + 1` entries, the last the total): each cell keeps its first maxDetLast.
 */
function layoutStarts(cells: Int32Array, K: number, maxDetLast: number): Int32Array {
  const kStart = new Int32Array(K + 1);
  for (let c = 0; c < cells.length; c += 5) kStart[cells[c] + 1] += Math.min(cells[c + 4] - cells[c + 3], maxDetLast);
  return prefixSums(kStart);
}

/** How evaluate() runs: the two steps that do most of its work can be replaced by native ones. */
export interface EvalOptions {
  /**
   * The matching step (match-cells.ts): the native addon's `matchCocoCells` where it loads;
   * default the TypeScript `matchCells`. Both give the same result.
   */
  cellMatcher?: CellMatcher;
  /**
   * The accumulate step (accumulate.ts): the native addon's `accumulateCoco` where it loads;
   * default the TypeScript `accumulateOutcomes`. Both give the same doubles.
   */
  accumulator?: Accumulator;
}

/**
 * COCOeval `evaluate()` + `accumulate()` with pycocotools' exact semantics, fast. `results`
 * are records or the columns of a results file (`PendingCocoResults.finishAny`, which spares
 * building one object per result); the outcome and the errors are the same.
 *
 * @example
 * const p = createParams('bbox', gt);
 * const { stats, text } = summarize(evaluate(gt, results, p));
 */
export function evaluate(gtSet: CocoDataset, results: readonly CocoResult[] | CocoResultsColumns, p: EvalParams, options: EvalOptions = {}): CocoEvalResult {
  const columns = isResultsColumns(results) ? results : columnsOfResults(results);
  const anns = annotationColumns(gtSet);
  checkResultImageColumns(gtSet, columns);
  checkKeypointColumns(anns, columns, p);
  const keypoints = p.iouType === 'keypoints';
  const numImages = p.imgIds.length;
  const imgIndex = new IdIndex(p.imgIds);
  const catIndex = new IdIndex(p.catIds);
  const gt = gtColumns(anns, imgIndex, catIndex, keypoints);
  const { dt, ignoredResults } = dtColumns(columns, imgIndex, catIndex);

  const T = p.iouThrs.length, R = p.recThrs.length, K = p.useCats ? p.catIds.length : 1;
  const A = p.areaRng.length, M = p.maxDets.length;
  const maxDetLast = p.maxDets[M - 1];

  const { order: gOrder, start: gStart } = groupByImage(gt.n, gt.img, gt.cat, numImages);
  const { order: dOrder, start: dStart } = groupByImage(dt.n, dt.img, dt.cat, numImages);
  const cells = listCells(numImages, gt, gOrder, gStart, dt, dOrder, dStart, p.useCats, K);

  const kStart = layoutStarts(cells, K, maxDetLast);
  const kept = kStart[K];
  const vars = oksVars(p.kptOksSigmas);
  const m: CellMatch = {
    keypoints,
    gtId: gt.id,
    gtArea: gt.area,
    gtCrowd: gt.crowd,
    gtIgnore: gt.ignore,
    gtBox: gt.box,
    gtKp: gt.kp,
    gtKpOff: gt.kpOff,
    dtScore: dt.score,
    dtArea: dt.area,
    dtBox: dt.box,
    dtKp: dt.kp,
    dtKpOff: dt.kpOff,
    gOrder,
    dOrder,
    cells,
    vars,
    farPerArea: 6.2 * 2 * Math.max(...vars),
    thr: Float64Array.from(p.iouThrs, (t) => Math.min(t, 1 - 1e-10)),
    areaLo: Float64Array.from(p.areaRng, (r) => r[0]),
    areaHi: Float64Array.from(p.areaRng, (r) => r[1]),
    maxDetLast,
    detOf: new Int32Array(kept),
    rank: new Int32Array(kept),
    outcome: new Uint8Array(A * T * kept),
    npig: new Float64Array(K * A),
  };
  (options.cellMatcher ?? matchCells)(m);
  const { detOf, rank, outcome, npig } = m;

  const acc: Accumulation = {
    numThresholds: T,
    maxDets: Float64Array.from(p.maxDets),
    recThrs: Float64Array.from(p.recThrs),
    kStart,
    detOf,
    rank,
    outcome,
    npig,
    score: dt.score,
    precision: new Float64Array(T * R * K * A * M).fill(-1),
    recall: new Float64Array(T * K * A * M).fill(-1),
    scores: new Float64Array(T * R * K * A * M).fill(-1),
  };
  (options.accumulator ?? accumulateOutcomes)(acc);
  const { precision, recall, scores } = acc;
  return { params: p, counts: [T, R, K, A, M], precision, recall, scores, ignoredResults };
}
