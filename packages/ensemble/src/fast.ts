// The `ts` backend's kernels: what runs when the native addon cannot load. Same float32
// arithmetic as the reference (reference.ts, the oracle: every test body runs on both), so
// results are identical bit for bit; faster by
//  - combining transforms with the mode, flip and weight tests hoisted out of the pixel loops
//    (Float32Array stores round like Math.fround; a product with weight 1 is the value itself);
//  - checking finiteness on the combined maps (a non-finite input makes its channel's average
//    non-finite) and only then scanning the inputs for the reference's exact error;
//  - the fused path's averaging records each row's range while it divides (the decode's row
//    bounds start from them without another pass over the map);
//  - decoding the argmax with the native cpu kernel's row pruning: an exact upper bound of every
//    group of output rows that share 4 source rows, then of each row of a group that passes, so
//    rows that cannot hold the first maximum are never computed; on flat maps, where most rows
//    stay in play, bounds per block of 16 columns (a quick one, then an exact one) skip almost
//    every block.
// Probabilities (softmax over the whole resized map) take the reference path.
import { assertFiniteHeatmaps, cubicAxis, decodeMap, referenceDecode, referenceEnsembleAndDecode, roiCells, writeKeypoint, type DecodedKeypoints } from './reference.js';
import { axisGroups, groupBlocks, groupBound, quickBound, sourceBlockBounds, type AxisGroups } from './group-bound.js';
import type { DecodeJob, EnsembleJob } from './validate.js';

const f = Math.fround;
/** Output columns per block of the block search (at most). */
const BLOCK = 16;

/** Each source row's largest and smallest value, when the averaging recorded them (`known`). */
class RowRanges {
  hi = new Float64Array(0);
  lo = new Float64Array(0);
  known = false;
  size(m: number): void {
    if (this.hi.length < m) {
      this.hi = new Float64Array(m);
      this.lo = new Float64Array(m);
    }
  }
}

/**
 * ensembleChannel of the reference, with the per-pixel branches hoisted: combines the T maps of
 * RoI n, keypoint k into out[0, M*M). Returns false when a combined value is not finite.
 */
function combineChannel(job: EnsembleJob, n: number, k: number, out: Float32Array, ranges?: RowRanges): boolean {
  if (job.mode === 'avg' && job.weights.every((w) => w === 1)) return averageUnweighted(job, n, k, out, ranges);
  const { m, heatmaps: h, mask } = job;
  const mm = m * m;
  const avg = job.mode === 'avg';
  let first = true;
  let weightSum = 0;
  for (let t = 0; t < job.t; t++) {
    if (mask !== undefined && mask[t * job.n + n] === 0) continue;
    const flip = job.flipped[t] === 1;
    const src = ((t * job.n + n) * job.k + (flip ? job.perm[k] : k)) * mm;
    const w = job.weights[t];
    weightSum = f(weightSum + w);
    if (!flip) {
      if (first && (w === 1 || !avg)) out.set(h.subarray(src, src + mm));
      else if (!avg) for (let i = 0; i < mm; i++) out[i] = h[src + i] > out[i] ? h[src + i] : out[i];
      else if (first) for (let i = 0; i < mm; i++) out[i] = w * h[src + i];
      else if (w === 1) for (let i = 0; i < mm; i++) out[i] += h[src + i];
      else for (let i = 0; i < mm; i++) out[i] += f(w * h[src + i]);
    } else {
      for (let y = 0; y < m; y++) {
        const row = y * m, from = src + row + m - 1;
        if (!avg) for (let x = 0; x < m; x++) out[row + x] = first || h[from - x] > out[row + x] ? h[from - x] : out[row + x];
        else if (first) for (let x = 0; x < m; x++) out[row + x] = w * h[from - x];
        else if (w === 1) for (let x = 0; x < m; x++) out[row + x] += h[from - x];
        else for (let x = 0; x < m; x++) out[row + x] += f(w * h[from - x]);
      }
    }
    first = false;
  }
  let finite = true;
  if (avg) {
    for (let i = 0; i < mm; i++) {
      const v = (out[i] /= weightSum);
      if (v - v !== 0) finite = false;
    }
  }
  return finite;
}

/**
 * combineChannel for `avg` with every weight 1 (the default): the sum in transform order,
 * rounded to float32 after each addition exactly as `out[i] += h[...]` rounds, but four
 * transforms per pass over `out` (one load and store of the sum per four additions), then
 * divided by the count. Returns false when a combined value is not finite. With `ranges`, the
 * division pass also records each row's largest and smallest value (what the decode's row bounds
 * start from: one pass over the map fewer).
 */
function averageUnweighted(job: EnsembleJob, n: number, k: number, out: Float32Array, ranges?: RowRanges): boolean {
  const { m, heatmaps: h, mask } = job;
  const mm = m * m;
  if (transformStart.length < job.t) {
    transformStart = new Int32Array(job.t);
    transformStep = new Int32Array(job.t);
  }
  const start = transformStart, step = transformStep;
  let count = 0; // >= 1: checkEnsemble requires an included transform per RoI
  for (let t = 0; t < job.t; t++) {
    if (mask !== undefined && mask[t * job.n + n] === 0) continue;
    const flip = job.flipped[t] === 1;
    start[count] = ((t * job.n + n) * job.k + (flip ? job.perm[k] : k)) * mm + (flip ? m - 1 : 0);
    step[count++] = flip ? -1 : 1;
  }
  if (step[0] < 0) for (let y = 0; y < mm; y += m) for (let x = 0; x < m; x++) out[y + x] = h[start[0] + y - x];
  else out.set(h.subarray(start[0], start[0] + mm));
  // The last transform is added in the division pass (one pass over `out` fewer).
  const last = count - 1;
  let i = 1;
  for (; i + 3 < last; i += 4) addFour(h, start[i], step[i], start[i + 1], step[i + 1], start[i + 2], step[i + 2], start[i + 3], step[i + 3], out, m);
  for (; i < last; i++) addOne(h, start[i], step[i], out, m);
  return last === 0 ? addAndDivide(h, 0, 0, 0, out, m, 1, ranges ?? unusedRanges) : addAndDivide(h, 1, start[last], step[last], out, m, count, ranges ?? unusedRanges);
}

/** Where fastEnsemble's averages record their row ranges (not read). */
const unusedRanges = new RowRanges();

/**
 * out = (out + add * a) / count, each operation rounded to float32 (add: 1 to add map a, read
 * from pa with x step sa as addOne reads it; 0 for none), recording each row's largest and
 * smallest value in `ranges`. Returns false when a value is not finite.
 */
function addAndDivide(h: Float32Array, add: number, pa: number, sa: number, out: Float32Array, m: number, count: number, ranges: RowRanges): boolean {
  ranges.size(m);
  let finite = true;
  for (let r = 0, y = 0; r < m; r++, y += m) {
    let hi = -Infinity, lo = Infinity, check = 0; // check: 0 + (v - v) stays 0 while every v is finite
    let a = pa + y;
    for (let j = y, end = y + m; j < end; j++, a += sa) {
      const v = f((add === 1 ? f(out[j] + h[a]) : out[j]) / count);
      out[j] = v;
      check += v - v;
      if (v > hi) hi = v;
      if (v < lo) lo = v;
    }
    if (check !== 0) finite = false;
    ranges.hi[r] = hi;
    ranges.lo[r] = lo;
  }
  ranges.known = true;
  return finite;
}

/** averageUnweighted's list of included transforms: where each map starts (a flipped one at its last column) and its x step (-1 when flipped). */
let transformStart = new Int32Array(0);
let transformStep = new Int32Array(0);

/**
 * out = (((out + a) + b) + c) + d, each sum rounded to float32; map j starts at pj and is read
 * with x step sj per row (-1: a flipped map read right to left). The read positions advance as
 * induction variables (T18 N100 K17 M56, CPU time: 97 ms for the whole average, against 119 ms
 * indexing with pj + y + sj * x, 88 ms with one loop per flip pattern, 118 ms eight per pass
 * and 135 ms two per pass).
 */
function addFour(h: Float32Array, pa: number, sa: number, pb: number, sb: number, pc: number, sc: number, pd: number, sd: number, out: Float32Array, m: number): void {
  for (let y = 0, mm = m * m; y < mm; y += m) {
    let a = pa + y, b = pb + y, c = pc + y, d = pd + y;
    for (let x = y, end = y + m; x < end; x++, a += sa, b += sb, c += sc, d += sd) out[x] = f(f(f(f(out[x] + h[a]) + h[b]) + h[c]) + h[d]);
  }
}

/** out = out + a, rounded to float32 (the same reading as addFour). */
function addOne(h: Float32Array, pa: number, sa: number, out: Float32Array, m: number): void {
  for (let y = 0, mm = m * m; y < mm; y += m) {
    let a = pa + y;
    for (let x = y, end = y + m; x < end; x++, a += sa) out[x] = f(out[x] + h[a]);
  }
}

/** Per-RoI bicubic taps and the interval bounds of the x pass (native cpu's DecodeScratch). */
export interface Taps {
  xIndex: Int32Array;
  xWeight: Float32Array;
  yIndex: Int32Array;
  yWeight: Float32Array;
  /** Over all x: range of the positive and of the negative weight sums, max of sum |w|. */
  posMin: number;
  posMax: number;
  negMin: number;
  negMax: number;
  absMax: number;
  /** What only the block search needs, made on its first use for the RoI. */
  groups?: BlockTaps;
}

/** The output rows and columns grouped by their 4 source taps, and blocks of at most BLOCK columns of the column groups. */
interface BlockTaps {
  y: AxisGroups;
  x: AxisGroups;
  xBlocks: Int32Array;
}

function blockTaps(tp: Taps, W: number, H: number): BlockTaps {
  if (tp.groups === undefined) {
    const x = axisGroups(tp.xIndex, tp.xWeight, W);
    tp.groups = { y: axisGroups(tp.yIndex, tp.yWeight, H), x, xBlocks: groupBlocks(x, BLOCK) };
  }
  return tp.groups;
}

export function tapsFor(m: number, W: number, H: number): Taps {
  const xs = cubicAxis(m, W), ys = cubicAxis(m, H);
  let posMin = Infinity, posMax = -Infinity, negMin = Infinity, negMax = -Infinity, absMax = 0;
  for (let x = 0; x < W; x++) {
    let pos = 0, neg = 0;
    for (let j = 0; j < 4; j++) {
      const w = xs.weight[4 * x + j];
      if (w >= 0) pos += w;
      else neg += w;
    }
    posMin = Math.min(posMin, pos);
    posMax = Math.max(posMax, pos);
    negMin = Math.min(negMin, neg);
    negMax = Math.max(negMax, neg);
    absMax = Math.max(absMax, pos - neg);
  }
  return { xIndex: xs.index, xWeight: xs.weight, yIndex: ys.index, yWeight: ys.weight, posMin, posMax, negMin, negMax, absMax };
}

/** Scratch of the pruned decode, grown on demand. */
class DecodeScratch {
  rows = new Float32Array(0);
  ready = new Uint8Array(0);
  bound = new Float64Array(0);
  rowHi = new Float64Array(0);
  rowLo = new Float64Array(0);
  blockHi = new Float64Array(0);
  blockLo = new Float64Array(0);
  /** Per (source row, block): 1 once its x-resized values are in `rows`. */
  blockReady = new Uint8Array(0);
  /** The maximum of the row evaluateRow last computed. */
  rowBest = -Infinity;
  /** The map's row ranges, when its producer recorded them. */
  ranges = new RowRanges();
  /** The block search's best value and its flat index so far. */
  best = -Infinity;
  bestIndex = -1;
  size(m: number, W: number, H: number): void {
    if (this.rows.length < m * W) this.rows = new Float32Array(m * W);
    if (this.ready.length < m) {
      this.ready = new Uint8Array(m);
      this.rowHi = new Float64Array(m);
      this.rowLo = new Float64Array(m);
    }
    if (this.bound.length < H) this.bound = new Float64Array(H);
    this.ready.fill(0, 0, m);
  }
}

const SLACK = 1e-5, TINY = 1e-30;

/** Source row r resized along x over columns [x0, x1) into sc.rows (the reference's arithmetic). */
function resizeColumns(map: Float32Array, offset: number, m: number, W: number, r: number, x0: number, x1: number, tp: Taps, rows: Float32Array): void {
  const { xIndex, xWeight } = tp;
  const at = r * W, src = offset + r * m;
  for (let x = x0; x < x1; x++) {
    const a = 4 * x;
    rows[at + x] = f(f(f(f(map[src + xIndex[a]] * xWeight[a]) + f(map[src + xIndex[a + 1]] * xWeight[a + 1])) + f(map[src + xIndex[a + 2]] * xWeight[a + 2])) + f(map[src + xIndex[a + 3]] * xWeight[a + 3]));
  }
}

/** Offset in sc.rows of source row r resized along x (computed on first use, as the reference does). */
function resizedRow(map: Float32Array, offset: number, m: number, W: number, r: number, tp: Taps, sc: DecodeScratch): number {
  if (sc.ready[r] === 0) {
    resizeColumns(map, offset, m, W, r, 0, W, tp, sc.rows);
    sc.ready[r] = 1;
  }
  return r * W;
}

/** Output row y of the resize: returns the x of its first maximum and leaves the maximum in sc.rowBest. */
function evaluateRow(map: Float32Array, offset: number, m: number, W: number, y: number, tp: Taps, sc: DecodeScratch): number {
  const a = 4 * y, yIndex = tp.yIndex, yWeight = tp.yWeight;
  const r0 = resizedRow(map, offset, m, W, yIndex[a], tp, sc), r1 = resizedRow(map, offset, m, W, yIndex[a + 1], tp, sc);
  const r2 = resizedRow(map, offset, m, W, yIndex[a + 2], tp, sc), r3 = resizedRow(map, offset, m, W, yIndex[a + 3], tp, sc);
  const w0 = yWeight[a], w1 = yWeight[a + 1], w2 = yWeight[a + 2], w3 = yWeight[a + 3];
  const rows = sc.rows;
  let rowBest = f(f(f(f(rows[r0] * w0) + f(rows[r1] * w1)) + f(rows[r2] * w2)) + f(rows[r3] * w3));
  let rowX = 0;
  for (let x = 1; x < W; x++) {
    const v = f(f(f(f(rows[r0 + x] * w0) + f(rows[r1 + x] * w1)) + f(rows[r2 + x] * w2)) + f(rows[r3 + x] * w3));
    if (v > rowBest) {
      rowBest = v;
      rowX = x;
    }
  }
  sc.rowBest = rowBest;
  return rowX;
}

/**
 * First maximum of the resized map, given a best value and its flat index (sc.best,
 * sc.bestIndex), by blocks of at most BLOCK columns (whole x-groups). The x-resized values of each
 * (source row, block) are bounded from the source samples (sourceBlockBounds) without resizing;
 * then a whole y-group of output rows (the rows that share 4 source rows) is bounded over a
 * block at once (groupBound), then each of its rows with its own weights, all in double with a
 * slack for float32 rounding. Only a row and block that pass get their 4 source rows resized
 * (once per source row and block) and their values computed as the reference computes them.
 * A bound below the best value means no value there can be the first maximum (a value equal to
 * it could, at a smaller index, so only strictly smaller bounds are skipped).
 */
function blockSearch(map: Float32Array, offset: number, m: number, W: number, H: number, mapAbs: number, tp: Taps, sc: DecodeScratch): void {
  const bt = blockTaps(tp, W, H);
  const { x: xGroups, xBlocks, y: yGroups } = bt;
  const blocks = xBlocks.length - 1, cells = m * blocks;
  if (sc.blockHi.length < cells) {
    sc.blockHi = new Float64Array(cells);
    sc.blockLo = new Float64Array(cells);
    sc.blockReady = new Uint8Array(cells);
  }
  const { blockHi, blockLo } = sc;
  sc.blockReady.fill(0, 0, cells);
  // A computed x-resized value differs from its exact sum by at most 7 float32 roundings of
  // 2^-24 tp.absMax mapAbs; and M (sum - sumMid) <= mapAbs sumHalfMax.
  sourceBlockBounds(map, offset, m, xGroups, xBlocks, SLACK * tp.absMax * mapAbs + mapAbs * xGroups.sumHalfMax + TINY, blockHi, blockLo);
  // Every x-resized value is within (1 + SLACK) absMax mapAbs of 0: the y pass's rounding slack.
  const slack = SLACK * yGroups.absMax * (1 + SLACK) * tp.absMax * mapAbs + TINY;
  // A high best value early prunes more: first the rows centred on the source row of the block
  // with the largest bound, in that block (on noise maps the maximum is usually there).
  let top = 0;
  for (let c = 1; c < cells; c++) if (blockHi[c] > blockHi[top]) top = c;
  const topRow = Math.floor(top / blocks), topBlock = top - topRow * blocks;
  for (let g = 0; g < yGroups.count; g++) {
    if (yGroups.tap[4 * g + 1] === topRow || yGroups.tap[4 * g + 2] === topRow) searchBlock(map, offset, m, W, g, topBlock, slack, tp, bt, sc);
  }
  for (let g = 0; g < yGroups.count; g++) {
    const a = 4 * g;
    const i0 = yGroups.tap[a] * blocks, i1 = yGroups.tap[a + 1] * blocks, i2 = yGroups.tap[a + 2] * blocks, i3 = yGroups.tap[a + 3] * blocks;
    for (let b = 0; b < blocks; b++) {
      // Most pairs fail the quick bound; the rest get groupBound, then their rows.
      if (quickBound(yGroups, g, blockLo[i0 + b], blockHi[i1 + b], blockHi[i2 + b], blockLo[i3 + b]) + slack < sc.best) continue;
      const bound = groupBound(yGroups, g, blockHi[i0 + b], blockLo[i0 + b], blockHi[i1 + b], blockLo[i1 + b], blockHi[i2 + b], blockLo[i2 + b], blockHi[i3 + b], blockLo[i3 + b]);
      if (bound + slack >= sc.best) searchBlock(map, offset, m, W, g, b, slack, tp, bt, sc);
    }
  }
}

/**
 * The rows of y-group g over block b: each row bounded with its
 * own weights (in double, with `slack`), and the values of rows that pass computed as the
 * reference computes them (their source rows resized over the block first, once), updating
 * sc.best and sc.bestIndex.
 */
function searchBlock(map: Float32Array, offset: number, m: number, W: number, g: number, b: number, slack: number, tp: Taps, bt: BlockTaps, sc: DecodeScratch): void {
  const { y: yGroups, x: xGroups, xBlocks } = bt;
  const { blockHi, blockLo, blockReady, rows, ready } = sc;
  const { yWeight } = tp;
  const blocks = xBlocks.length - 1, a = 4 * g;
  const s0 = yGroups.tap[a], s1 = yGroups.tap[a + 1], s2 = yGroups.tap[a + 2], s3 = yGroups.tap[a + 3];
  const i0 = s0 * blocks + b, i1 = s1 * blocks + b, i2 = s2 * blocks + b, i3 = s3 * blocks + b;
  const u0 = blockHi[i0], l0 = blockLo[i0], u1 = blockHi[i1], l1 = blockLo[i1], u2 = blockHi[i2], l2 = blockLo[i2], u3 = blockHi[i3], l3 = blockLo[i3];
  const r0 = s0 * W, r1 = s1 * W, r2 = s2 * W, r3 = s3 * W;
  const x0 = xGroups.start[xBlocks[b]], x1 = xGroups.start[xBlocks[b + 1]];
  let best = sc.best, bestIndex = sc.bestIndex;
  for (let y = yGroups.start[g], yEnd = yGroups.start[g + 1]; y < yEnd; y++) {
    const w0 = yWeight[4 * y], w1 = yWeight[4 * y + 1], w2 = yWeight[4 * y + 2], w3 = yWeight[4 * y + 3];
    if ((w0 < 0 ? l0 : u0) * w0 + (w1 < 0 ? l1 : u1) * w1 + ((w2 < 0 ? l2 : u2) * w2 + (w3 < 0 ? l3 : u3) * w3) + slack < best) continue;
    if (ready[s0] === 0 && blockReady[i0] === 0) ensureBlock(map, offset, m, W, s0, i0, x0, x1, tp, sc);
    if (ready[s1] === 0 && blockReady[i1] === 0) ensureBlock(map, offset, m, W, s1, i1, x0, x1, tp, sc);
    if (ready[s2] === 0 && blockReady[i2] === 0) ensureBlock(map, offset, m, W, s2, i2, x0, x1, tp, sc);
    if (ready[s3] === 0 && blockReady[i3] === 0) ensureBlock(map, offset, m, W, s3, i3, x0, x1, tp, sc);
    for (let x = x0; x < x1; x++) {
      const v = f(f(f(f(rows[r0 + x] * w0) + f(rows[r1 + x] * w1)) + f(rows[r2 + x] * w2)) + f(rows[r3 + x] * w3));
      const index = y * W + x;
      if (v > best || (v === best && index < bestIndex)) {
        best = v;
        bestIndex = index;
      }
    }
  }
  sc.best = best;
  sc.bestIndex = bestIndex;
}

/** Resizes source row r over the columns [x0, x1) of a block and marks (row, block) `cell` ready. */
function ensureBlock(map: Float32Array, offset: number, m: number, W: number, r: number, cell: number, x0: number, x1: number, tp: Taps, sc: DecodeScratch): void {
  resizeColumns(map, offset, m, W, r, x0, x1, tp, sc.rows);
  sc.blockReady[cell] = 1;
}

/** The output index (of `outSize`) whose centre is nearest source index `i` of `inSize` (align_corners = false). */
function nearestOutput(i: number, inSize: number, outSize: number): number {
  return Math.min(Math.max(Math.round(((i + 0.5) * outSize) / inSize - 0.5), 0), outSize - 1);
}

/** The resized value at output (x, y), computed as the reference computes it. */
function valueAt(map: Float32Array, offset: number, m: number, x: number, y: number, tp: Taps): number {
  const { xIndex, xWeight, yIndex, yWeight } = tp;
  const a = 4 * x;
  let v = 0;
  for (let j = 0; j < 4; j++) {
    const src = offset + yIndex[4 * y + j] * m;
    const r = f(f(f(f(map[src + xIndex[a]] * xWeight[a]) + f(map[src + xIndex[a + 1]] * xWeight[a + 1])) + f(map[src + xIndex[a + 2]] * xWeight[a + 2])) + f(map[src + xIndex[a + 3]] * xWeight[a + 3]));
    v = j === 0 ? f(r * yWeight[4 * y]) : f(v + f(r * yWeight[4 * y + j]));
  }
  return v;
}

/** Each row's largest and smallest value of the map at `offset`, into `ranges`. */
function rowRanges(map: Float32Array, offset: number, m: number, ranges: RowRanges): void {
  ranges.size(m);
  for (let r = 0; r < m; r++) {
    let hi = -Infinity, lo = Infinity;
    for (let c = offset + r * m, end = c + m; c < end; c++) {
      const v = map[c];
      if (v > hi) hi = v;
      if (v < lo) lo = v;
    }
    ranges.hi[r] = hi;
    ranges.lo[r] = lo;
  }
}

/** Upper bound (exact arithmetic) of output row y of the resize, its source rows' x-resized values within [rowLo, rowHi]. */
function rowBound(y: number, tp: Taps, rowHi: Float64Array, rowLo: Float64Array): number {
  const { yIndex, yWeight } = tp;
  let b = 0;
  for (let j = 4 * y; j < 4 * y + 4; j++) {
    const wy = yWeight[j];
    b += wy >= 0 ? wy * rowHi[yIndex[j]] : wy * rowLo[yIndex[j]];
  }
  return b;
}

/**
 * First maximum of the bicubic-resized map at `offset` (values exactly as the reference computes
 * them), visiting only rows whose bound reaches the best value found; writes x, y, logit of
 * keypoint `item`. Returns false for a map with infinities (the caller decodes it in full).
 */
function decodePruned(map: Float32Array, offset: number, m: number, rois: Float32Array, n: number, tp: Taps, sc: DecodeScratch, keypoints: Float32Array, item: number): boolean {
  const x1 = rois[4 * n], y1 = rois[4 * n + 1];
  const w = Math.max(f(rois[4 * n + 2] - x1), 1);
  const h = Math.max(f(rois[4 * n + 3] - y1), 1);
  const W = Math.ceil(w), H = Math.ceil(h);
  sc.size(m, W, H);
  const { rowHi, rowLo, bound } = sc;
  let mapAbs = 0, topValue = -Infinity, topRow = 0;
  // Bounds of each x-resized source row: sum_j w_j s_j is linear in the positive and negative
  // weight sums, so its extremes sit at the ends of their ranges; a relative slack covers rounding.
  const ranges = sc.ranges;
  if (!ranges.known) rowRanges(map, offset, m, ranges);
  ranges.known = false; // they describe this map only
  for (let r = 0; r < m; r++) {
    const hi = ranges.hi[r], lo = ranges.lo[r];
    const up = Math.max(tp.posMin * hi, tp.posMax * hi) + Math.max(tp.negMin * lo, tp.negMax * lo);
    const down = Math.min(tp.posMin * lo, tp.posMax * lo) + Math.min(tp.negMin * hi, tp.negMax * hi);
    if (hi - lo !== hi - lo || hi === Infinity || lo === -Infinity) return false; // an overflowed average: no sound bound
    const slack = SLACK * tp.absMax * Math.max(Math.abs(hi), Math.abs(lo)) + TINY;
    rowHi[r] = up + slack;
    rowLo[r] = down - slack;
    mapAbs = Math.max(mapAbs, hi, -lo);
    if (hi > topValue) {
      topValue = hi;
      topRow = r;
    }
  }
  const yGroups = blockTaps(tp, W, H).y;
  // Bounds of each group of output rows that share 4 source rows (groupBound over the rows'
  // bounds, a quarter of the rows when upsampling 4x); each row is bounded alone only where its
  // group passes. The y pass rounds values within the rows' bounds: SLACK relative to them.
  let rowAbs = 0;
  for (let r = 0; r < m; r++) rowAbs = Math.max(rowAbs, rowHi[r], -rowLo[r]);
  const ySlack = SLACK * yGroups.absMax * rowAbs + TINY;
  const { tap, start } = yGroups;
  // A first best value: the resized value at the output cell over the largest source sample
  // (near the maximum on peaky and on noise maps alike; one value, where a whole row cost 4 rows' resize).
  let topColumn = 0;
  while (topColumn < m - 1 && map[offset + topRow * m + topColumn] !== topValue) topColumn++;
  const seedX = nearestOutput(topColumn, m, W), seedY = nearestOutput(topRow, m, H);
  let best = valueAt(map, offset, m, seedX, seedY, tp), bestIndex = seedY * W + seedX;
  let candidates = 0;
  for (let g = 0, a = 0; g < yGroups.count; g++, a += 4) {
    const b = groupBound(yGroups, g, rowHi[tap[a]], rowLo[tap[a]], rowHi[tap[a + 1]], rowLo[tap[a + 1]], rowHi[tap[a + 2]], rowLo[tap[a + 2]], rowHi[tap[a + 3]], rowLo[tap[a + 3]]) + ySlack;
    bound[g] = b;
    if (!(b < best)) candidates += start[g + 1] - start[g];
  }
  if (candidates * 8 <= H) {
    // A row whose bound is below the best value cannot hold the maximum, nor a value equal to it.
    for (let g = 0; g < yGroups.count; g++) {
      if (bound[g] < best) continue;
      for (let y = start[g]; y < start[g + 1]; y++) {
        if (rowBound(y, tp, rowHi, rowLo) + ySlack < best) continue;
        const rowX = evaluateRow(map, offset, m, W, y, tp, sc);
        const index = y * W + rowX;
        if (sc.rowBest > best || (sc.rowBest === best && index < bestIndex)) {
          best = sc.rowBest;
          bestIndex = index;
        }
      }
    }
  } else {
    // Flat maps leave most rows in play: bound blocks of columns instead, and evaluate only the
    // rows of blocks that can win.
    sc.best = best;
    sc.bestIndex = bestIndex;
    blockSearch(map, offset, m, W, H, mapAbs, tp, sc);
    best = sc.best;
    bestIndex = sc.bestIndex;
  }
  writeKeypoint(keypoints, item, rois, n, W, H, bestIndex, best);
  return true;
}

/**
 * Argmax decoding of N x K maps, each M*M values at offset 0 of what `mapOf(n, k)` returns:
 * pruned; the reference's full path for maps with infinities.
 */
function decodeAll(n: number, k: number, m: number, rois: Float32Array, keypoints: Float32Array, sc: DecodeScratch, mapOf: (n: number, k: number) => Float32Array): void {
  for (let r = 0; r < n; r++) {
    const [W, H] = roiCells(rois, r);
    const taps = tapsFor(m, W, H); // shared by the RoI's K keypoints
    for (let kk = 0; kk < k; kk++) {
      const map = mapOf(r, kk);
      if (!decodePruned(map, 0, m, rois, r, taps, sc, keypoints, r * k + kk)) decodeMap(map, 0, m, rois, r, keypoints, undefined, r * k + kk);
    }
  }
}

/** `ts` backend of `ensembleHeatmaps`: [T, N, K, M, M] -> [N, K, M, M], equal to referenceEnsemble. */
export function fastEnsemble(job: EnsembleJob): Float32Array {
  if (job.mode === 'max') assertFiniteHeatmaps(job);
  const mm = job.m * job.m;
  const out = new Float32Array(job.n * job.k * mm);
  let finite = true;
  for (let n = 0; n < job.n; n++) {
    for (let k = 0; k < job.k; k++) finite = combineChannel(job, n, k, out.subarray((n * job.k + k) * mm, (n * job.k + k + 1) * mm)) && finite;
  }
  if (!finite) assertFiniteHeatmaps(job); // throws the reference's error; an overflow alone passes
  return out;
}

/**
 * Whether a decode job takes the reference path on the `ts` and `wasm` backends: probabilities
 * (softmax over the whole resized map), and maps with a non-finite value (the reference throws
 * its exact error).
 */
export function decodesByReference(maps: Float32Array, job: DecodeJob): boolean {
  if (job.probability) return true;
  for (let i = 0; i < maps.length; i++) if (maps[i] - maps[i] !== 0) return true;
  return false;
}

/** `ts` backend of `decodeHeatmaps`, equal to referenceDecode. */
export function fastDecode(maps: Float32Array, n: number, k: number, m: number, job: DecodeJob): DecodedKeypoints {
  if (decodesByReference(maps, job)) return referenceDecode(maps, n, k, m, job);
  const keypoints = new Float32Array(n * k * 3);
  decodeAll(n, k, m, job.rois, keypoints, new DecodeScratch(), (r, kk) => maps.subarray((r * k + kk) * m * m, (r * k + kk + 1) * m * m));
  return { keypoints };
}

/** `ts` backend of `ensembleAndDecode`, equal to referenceEnsembleAndDecode. */
export function fastEnsembleAndDecode(job: EnsembleJob, decode: DecodeJob): DecodedKeypoints {
  if (decode.probability) return referenceEnsembleAndDecode(job, decode);
  if (job.mode === 'max') assertFiniteHeatmaps(job);
  // One combined map at a time, in a buffer that stays in the L1 cache while the T maps are
  // added into it and while it is decoded (the combined [N, K, M, M] is never written out).
  const scratch = new Float32Array(job.m * job.m);
  const keypoints = new Float32Array(job.n * job.k * 3);
  const sc = new DecodeScratch();
  sc.ranges.size(job.m);
  decodeAll(job.n, job.k, job.m, decode.rois, keypoints, sc, (r, kk) => {
    if (!combineChannel(job, r, kk, scratch, sc.ranges)) assertFiniteHeatmaps(job); // throws the reference's error; an overflow alone passes
    return scratch;
  });
  return { keypoints };
}
