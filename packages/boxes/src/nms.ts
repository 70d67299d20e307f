// Hard NMS with torchvision's semantics: boxes visited in descending score order (stable on
// ties), a box is dropped when its IoU with an already kept box is > the threshold.
// Two exact strategies: the classic pairwise sweep (small n) and a spatial grid of the kept
// boxes (large n), which only compares boxes that can overlap.
import { OmniTypeError, expectOneOf, type BoxArray } from '@omnidistill/core';
import { CellLists, gridShape, type BoxColumns } from './grid.js';
import { orderByScoreDesc } from './order.js';
import { isBoxData, toBoxArray, toLabelArray, toScoreArray, type BoxesInput, type DetectionsInput, type LabelsInput, type ScoredBoxesInput, type ScoresInput } from './inputs.js';
import { checkBoxes, checkConvention, checkLabels, checkOptions, checkScores, checkThreshold, type PixelConventionInput } from './validate.js';

/** `pairwise` sweeps every later box per kept box; `grid` queries nearby kept boxes; `auto` picks by n. */
export type NmsStrategy = 'auto' | 'pairwise' | 'grid';
export const NMS_STRATEGIES: readonly NmsStrategy[] = Object.freeze(['auto', 'pairwise', 'grid']);

/** Below this many boxes (per class) the pairwise sweep is faster than building a grid. */
export const GRID_MIN_BOXES = 128;

export interface NmsOptions {
  /** Suppress a box whose IoU with a kept box is > this (in [0, 1]). Required. */
  iouThreshold: number;
  /** IoU convention (default `continuous`, torchvision's; `pixelIndex`/`plusOne`: Detectron's +1). */
  convention?: PixelConventionInput;
  /** Algorithm choice; every strategy returns the same result (default `auto`). */
  strategy?: NmsStrategy;
}

interface NmsParams {
  threshold: number;
  e: number;
  strategy: NmsStrategy;
}

function readNmsOptions(options: NmsOptions): NmsParams {
  if (options === null || typeof options !== 'object') throw new OmniTypeError('options', 'an object { iouThreshold }', options);
  const o = checkOptions(options);
  return {
    threshold: checkThreshold(o.iouThreshold, 'options.iouThreshold'),
    e: checkConvention(o.convention, 'options.convention') === 'pixelIndex' ? 1 : 0,
    strategy: expectOneOf(o.strategy ?? 'auto', 'options.strategy', NMS_STRATEGIES),
  };
}

/**
 * Scratch arrays of nms / batchedNms, reused across calls and grown on demand: at ~1k boxes
 * allocating (and later collecting) a dozen typed arrays per call cost more CPU than the
 * suppression itself. JavaScript runs one call at a time and nothing here re-enters.
 */
class NmsScratch {
  x1 = new Float64Array(0);
  y1 = new Float64Array(0);
  x2 = new Float64Array(0);
  y2 = new Float64Array(0);
  areas = new Float64Array(0);
  keep = new Uint8Array(0);
  sub = new Int32Array(0);
  readonly cells = new CellLists();

  ensure(n: number): void {
    if (this.x1.length >= n) return;
    const cap = Math.max(n, 2 * this.x1.length);
    this.x1 = new Float64Array(cap);
    this.y1 = new Float64Array(cap);
    this.x2 = new Float64Array(cap);
    this.y2 = new Float64Array(cap);
    this.areas = new Float64Array(cap);
    this.keep = new Uint8Array(cap);
    this.sub = new Int32Array(cap);
  }

  /** Columns of `boxes` taken in `order` (views of the scratch, valid until the next call). */
  columns(boxes: BoxArray, order: ArrayLike<number>, n: number): BoxColumns {
    const { x1, y1, x2, y2 } = this;
    for (let i = 0; i < n; i++) {
      const o = 4 * order[i];
      x1[i] = boxes[o];
      y1[i] = boxes[o + 1];
      x2[i] = boxes[o + 2];
      y2[i] = boxes[o + 3];
    }
    return { x1, y1, x2, y2 };
  }

  /** Cleared keep flags for n boxes. */
  keepFlags(n: number): Uint8Array {
    const keep = this.keep.subarray(0, n);
    keep.fill(0);
    return keep;
  }
}

const scratch = new NmsScratch();

/**
 * Greedy suppression over boxes already in visiting order (columns index = rank).
 * Writes 1 into `keep[rank]` for every kept box. Exact for any strategy.
 */
export function greedySuppress(cols: BoxColumns, n: number, threshold: number, e: number, strategy: NmsStrategy, keep: Uint8Array): void {
  const useGrid = strategy === 'grid' || (strategy === 'auto' && n >= GRID_MIN_BOXES);
  if (useGrid) gridSuppress(cols, n, threshold, e, keep);
  else pairwiseSuppress(cols, n, threshold, e, keep);
}

/** Areas of the first n boxes, in a scratch array when `into` is given (it must hold n). */
function areasOf(cols: BoxColumns, n: number, e: number, into?: Float64Array): Float64Array {
  const areas = into ?? new Float64Array(n);
  for (let i = 0; i < n; i++) areas[i] = (cols.x2[i] - cols.x1[i] + e) * (cols.y2[i] - cols.y1[i] + e);
  return areas;
}

// torchvision's loop: each kept box suppresses the later boxes it overlaps.
function pairwiseSuppress(cols: BoxColumns, n: number, thr: number, e: number, keep: Uint8Array): void {
  const { x1, y1, x2, y2 } = cols;
  scratch.ensure(n);
  const areas = areasOf(cols, n, e, scratch.areas);
  const suppressed = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (suppressed[i]) continue;
    keep[i] = 1;
    const ix1 = x1[i];
    const iy1 = y1[i];
    const ix2 = x2[i];
    const iy2 = y2[i];
    const ia = areas[i];
    for (let j = i + 1; j < n; j++) {
      if (suppressed[j]) continue;
      const w = (ix2 < x2[j] ? ix2 : x2[j]) - (ix1 > x1[j] ? ix1 : x1[j]) + e;
      if (w <= 0) continue;
      const h = (iy2 < y2[j] ? iy2 : y2[j]) - (iy1 > y1[j] ? iy1 : y1[j]) + e;
      if (h <= 0) continue;
      const inter = w * h;
      // Same expression as torchvision (inter / (area_i + area_j − inter)) for bit parity;
      // an empty union gives NaN, which is never > thr, as there.
      if (inter / (ia + areas[j] - inter) > thr) suppressed[j] = 1;
    }
  }
}

// Equivalent formulation: a box is kept iff no kept box before it overlaps it by more than
// the threshold. With the kept boxes listed in the grid cells they touch, each box is compared
// only with the kept boxes of its own cells; boxes that do not intersect have IoU 0 and never
// suppress. A kept box sharing several cells with a box is simply compared again (cheaper
// than de-duplicating). The loops are written out in one function: at ~1k boxes, a grid
// object with query methods and a de-duplication stamp cost 4x the CPU (86 vs 22 µs).
function gridSuppress(cols: BoxColumns, n: number, thr: number, e: number, keep: Uint8Array): void {
  const { x1, y1, x2, y2 } = cols;
  // Columns may be the scratch's own arrays (nms) or a caller's (merge): areas/cells only borrow.
  scratch.ensure(n);
  const areas = areasOf(cols, n, e, scratch.areas);
  const { minX, minY, invW, invH, gx, gy } = gridShape(cols, n, e);
  const lists = scratch.cells;
  lists.reset(gx * gy);
  const head = lists.head;
  let used = 0;
  for (let i = 0; i < n; i++) {
    const ix1 = x1[i];
    const iy1 = y1[i];
    const ix2 = x2[i];
    const iy2 = y2[i];
    const ia = areas[i];
    // Cell range of box i (x1 >= minX, so `| 0` floors a non-negative number).
    const cx0 = ((ix1 - minX) * invW) | 0;
    const cy0 = ((iy1 - minY) * invH) | 0;
    const cx1 = Math.min(((ix2 + e - minX) * invW) | 0, gx - 1);
    const cy1 = Math.min(((iy2 + e - minY) * invH) | 0, gy - 1);
    if (overlapsKept(lists, cols, areas, cx0, cy0, cx1, cy1, gx, ix1, iy1, ix2, iy2, ia, thr, e)) continue;
    keep[i] = 1;
    lists.reserve(used + (cx1 - cx0 + 1) * (cy1 - cy0 + 1), used);
    const { next, value } = lists;
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const cell = cy * gx + cx;
        value[used] = i;
        next[used] = head[cell];
        head[cell] = used++;
      }
    }
  }
}

/** True when a kept box listed in cells [cx0, cx1] × [cy0, cy1] overlaps box i by more than thr. */
function overlapsKept(
  lists: CellLists, cols: BoxColumns, areas: Float64Array,
  cx0: number, cy0: number, cx1: number, cy1: number, gx: number,
  ix1: number, iy1: number, ix2: number, iy2: number, ia: number, thr: number, e: number,
): boolean {
  const { x1, y1, x2, y2 } = cols;
  const { head, next, value } = lists;
  for (let cy = cy0; cy <= cy1; cy++) {
    for (let cx = cx0; cx <= cx1; cx++) {
      for (let at = head[cy * gx + cx]; at !== -1; at = next[at]) {
        const k = value[at];
        const w = (ix2 < x2[k] ? ix2 : x2[k]) - (ix1 > x1[k] ? ix1 : x1[k]) + e;
        if (w <= 0) continue;
        const h = (iy2 < y2[k] ? iy2 : y2[k]) - (iy1 > y1[k] ? iy1 : y1[k]) + e;
        if (h <= 0) continue;
        const inter = w * h;
        if (inter / (areas[k] + ia - inter) > thr) return true;
      }
    }
  }
  return false;
}

/**
 * Hard NMS (torchvision `ops.nms`): indices of the kept boxes, in descending score order.
 *
 * @example
 * const keep = nms({ boxes, scores }, { iouThreshold: 0.5 }); // Int32Array of box indices
 * nms({ boxes: [[0, 0, 10, 10], [1, 1, 10, 10]], scores: [0.9, 0.8] }, { iouThreshold: 0.5 }); // [0]
 */
export function nms(detections: ScoredBoxesInput, options: NmsOptions): Int32Array;
/** @deprecated the positional form; use `nms({ boxes, scores }, options)`. */
export function nms(boxes: BoxesInput, scores: ScoresInput, options: NmsOptions): Int32Array;
export function nms(first: ScoredBoxesInput | BoxesInput, second: NmsOptions | ScoresInput, third?: NmsOptions): Int32Array {
  const [set, options] = isBoxData(first) ? [{ boxes: first, scores: second }, third] : [first, second];
  const { boxes, scores } = readSet(set, false);
  const p = readNmsOptions(options as NmsOptions);
  const n = checkBoxes(boxes, 'boxes');
  checkScores(scores, 'scores', n);
  const order = orderByScoreDesc(scores);
  scratch.ensure(n);
  const cols = scratch.columns(boxes, order, n);
  const keep = scratch.keepFlags(n);
  greedySuppress(cols, n, p.threshold, p.e, p.strategy, keep);
  return collectKept(order, keep, n);
}

/** The set's arrays as typed arrays (errors name `boxes`, `scores`, `labels` as the caller wrote them). */
function readSet(set: unknown, withLabels: boolean): { boxes: BoxArray; scores: Float32Array | Float64Array; labels: Int32Array } {
  const expected = withLabels ? 'detections { boxes, scores, labels }' : 'scored boxes { boxes, scores }';
  if (set === null || typeof set !== 'object') throw new OmniTypeError('detections', expected, set);
  const s = set as DetectionsInput;
  return {
    boxes: toBoxArray(s.boxes, 'boxes'),
    scores: toScoreArray(s.scores, 'scores'),
    labels: withLabels ? toLabelArray(s.labels, 'labels') : new Int32Array(0),
  };
}

function collectKept(order: Int32Array, keep: Uint8Array, n: number): Int32Array {
  let count = 0;
  for (let i = 0; i < n; i++) count += keep[i];
  const out = new Int32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (keep[i]) out[k++] = order[i];
  return out;
}

/**
 * Groups the positions of a score order by label, keeping the score order inside each group
 * (a stable counting sort). Returns the grouped ranks and each group's [start, end).
 */
export function groupByLabel(order: Int32Array, labels: Int32Array): { grouped: Int32Array; starts: number[]; ends: number[] } {
  const n = order.length;
  const slot = new Map<number, number>();
  const counts: number[] = [];
  const groupOf = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const label = labels[order[r]];
    let g = slot.get(label);
    if (g === undefined) {
      g = counts.length;
      slot.set(label, g);
      counts.push(0);
    }
    groupOf[r] = g;
    counts[g]++;
  }
  const starts: number[] = [];
  const ends: number[] = [];
  let acc = 0;
  for (const c of counts) {
    starts.push(acc);
    acc += c;
    ends.push(acc);
  }
  const fill = starts.slice();
  const grouped = new Int32Array(n);
  for (let r = 0; r < n; r++) grouped[fill[groupOf[r]]++] = r;
  return { grouped, starts, ends };
}

/**
 * Per-class NMS (torchvision `ops.batched_nms`): boxes of different labels never suppress
 * each other. Returns kept indices in descending score order (stable on ties).
 *
 * @example
 * const keep = batchedNms({ boxes, scores, labels }, { iouThreshold: 0.5 });
 */
export function batchedNms(detections: DetectionsInput, options: NmsOptions): Int32Array;
/** @deprecated the positional form; use `batchedNms({ boxes, scores, labels }, options)`. */
export function batchedNms(boxes: BoxesInput, scores: ScoresInput, labels: LabelsInput, options: NmsOptions): Int32Array;
export function batchedNms(
  first: DetectionsInput | BoxesInput,
  second: NmsOptions | ScoresInput,
  third?: LabelsInput,
  fourth?: NmsOptions,
): Int32Array {
  const [set, options] = isBoxData(first) ? [{ boxes: first, scores: second, labels: third }, fourth] : [first, second];
  const { boxes, scores, labels } = readSet(set, true);
  const p = readNmsOptions(options as NmsOptions);
  const n = checkBoxes(boxes, 'boxes');
  checkScores(scores, 'scores', n);
  checkLabels(labels, 'labels', n);
  const order = orderByScoreDesc(scores);
  const keepByRank = batchedKeep(boxes, order, labels, p.threshold, p.e, p.strategy);
  return collectKept(order, keepByRank, n);
}

/** Runs greedy suppression per label over a global score order; returns keep flags by rank. */
export function batchedKeep(boxes: BoxArray, order: Int32Array, labels: Int32Array, threshold: number, e: number, strategy: NmsStrategy): Uint8Array {
  const n = order.length;
  const { grouped, starts, ends } = groupByLabel(order, labels);
  const keepByRank = new Uint8Array(n);
  scratch.ensure(n);
  for (let g = 0; g < starts.length; g++) {
    const ranks = grouped.subarray(starts[g], ends[g]);
    const m = ranks.length;
    const sub = scratch.sub;
    for (let i = 0; i < m; i++) sub[i] = order[ranks[i]];
    const cols = scratch.columns(boxes, sub, m);
    const keep = scratch.keepFlags(m);
    greedySuppress(cols, m, threshold, e, strategy, keep);
    for (let i = 0; i < m; i++) if (keep[i]) keepByRank[ranks[i]] = 1;
  }
  return keepByRank;
}
