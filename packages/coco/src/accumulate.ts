// The accumulate step of the fast COCOeval (pycocotools' accumulate) over the per-detection
// outcomes the matching step wrote (match-cells.ts), as one call on flat arrays: the contract
// between this TypeScript implementation (the reference, and what runs without the addon) and
// the native addon's `accumulateCoco`, which evaluate() takes as `options.accumulator`. Both
// write the same doubles: test/integration/coco-match.test.ts runs the same cases through both.
import { IGNORED, TP } from './match-cells.js';
import { NP_SPACING_1 } from './numeric.js';

/**
 * The matching step's layout and outcomes, the parameters accumulate reads, and the arrays it
 * fills (C order, pycocotools' shapes; filled with -1 by the caller, cells of empty area ranges
 * stay -1). K categories = kStart.length - 1; A area ranges = npig.length / K.
 */
export interface Accumulation {
  /** T: the outcome rows per area range */
  numThresholds: number;
  /** M maxDets, ascending */
  maxDets: Float64Array;
  /** R recall thresholds */
  recThrs: Float64Array;
  /** where each category's detections start in the layout (K + 1 entries) */
  kStart: Int32Array;
  /** layout position -> detection column */
  detOf: Int32Array;
  /** rank of that detection within its image × category cell */
  rank: Int32Array;
  /** [area][threshold][layout position] FP / TP / IGNORED */
  outcome: Uint8Array;
  /** [k × A] non-ignored ground truths */
  npig: Float64Array;
  /** score per detection column */
  score: Float64Array;
  /** written: [T, R, K, A, M] */
  precision: Float64Array;
  /** written: [T, K, A, M] */
  recall: Float64Array;
  /** written: [T, R, K, A, M] */
  scores: Float64Array;
}

/** An accumulate implementation: fills acc.precision, acc.recall and acc.scores. */
export type Accumulator = (acc: Accumulation) => void;

/**
 * pycocotools' accumulate over the per-detection outcomes, one score sort per category: the
 * TypeScript accumulator (the default, and the reference of the native one).
 *
 * The work is split into small functions, each one hot loop called many times (once per
 * category, area range, threshold or maxDets): the CLI evaluates once per process, and a
 * single function holding every loop was optimised mid-loop (on-stack replacement) and
 * deoptimised at each loop it had not reached yet (five times at 5k images), running most of
 * its 3 M iterations in the interpreter (365 ms vs 15 ms once warm).
 */
export function accumulateOutcomes(acc: Accumulation): void {
  const { kStart, detOf, rank, outcome, npig, score, precision, recall, scores, maxDets, recThrs } = acc;
  const T = acc.numThresholds, R = recThrs.length, K = kStart.length - 1, M = maxDets.length;
  const A = npig.length / K;
  const kept = detOf.length;
  for (let k = 0; k < K; k++) {
    const s = kStart[k], e = kStart[k + 1];
    const n = e - s;
    // layout order is pycocotools' concatenation order, so (score desc, position) = its stable sort
    const c: CategoryOrder = {
      n,
      sorted: stableOrderByScoreDesc(detOf, s, e, score),
      sortedScore: new Float64Array(n),
      firstM: new Uint8Array(n),
      nd: new Int32Array(M),
      firstKept: new Int32Array(M).fill(-1),
    };
    orderCategory(c, detOf, rank, score, maxDets);
    // per maxDets: where the c-th true positive is (score-order position) and tp/(fp+tp+eps) there
    const tpIndex = new Int32Array(M * (n + 1));
    const tpPrecision = new Float64Array(M * (n + 1));
    const tp = new Int32Array(M);
    const fp = new Int32Array(M);
    for (let a = 0; a < A; a++) {
      const np = npig[k * A + a];
      if (np === 0) continue;
      for (let t = 0; t < T; t++) {
        // One pass over this (area, threshold)'s outcomes in score order serves every maxDets.
        scanOutcomes(outcome, (a * T + t) * kept, c, M, tp, fp, tpIndex, tpPrecision);
        for (let m = 0; m < M; m++) {
          recall[((t * K + k) * A + a) * M + m] = c.nd[m] > 0 ? tp[m] / np : 0;
          const cell0 = ((t * R * K + k) * A + a) * M + m; // cell of r = 0; r steps by K * A * M
          readPrecision(c, m, tp[m], np, recThrs, tpIndex, tpPrecision, precision, scores, cell0, K * A * M);
        }
      }
    }
  }
}

/**
 * Layout positions s..e-1 ordered by descending score, ties in position order: a native
 * sort of the distinct scores, then a stable counting sort by score rank (much faster
 * than a comparator sort of the positions).
 */
function stableOrderByScoreDesc(detOf: Int32Array, s: number, e: number, score: Float64Array): Int32Array {
  const n = e - s;
  const values = distinctScores(detOf, s, n, score);
  const rankOf = new Int32Array(n);
  const count = new Int32Array(values.length + 1);
  rankByScore(detOf, s, n, score, values, rankOf, count);
  return placeByRank(s, n, values.length, rankOf, count);
}

/** The distinct scores of positions s..s+n-1, ascending. */
function distinctScores(detOf: Int32Array, s: number, n: number, score: Float64Array): Float64Array {
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = score[detOf[s + i]];
  values.sort();
  return uniqueSorted(values);
}

/** The distinct values of a sorted array (a prefix of it, deduplicated in place). */
function uniqueSorted(values: Float64Array): Float64Array {
  let u = 0;
  for (let i = 0; i < values.length; i++) if (i === 0 || values[i] !== values[u - 1]) values[u++] = values[i];
  return values.subarray(0, u);
}

/** Each position's score rank (0 = highest) and the count per rank, shifted by one. */
function rankByScore(detOf: Int32Array, s: number, n: number, score: Float64Array, values: Float64Array, rankOf: Int32Array, count: Int32Array): void {
  const u = values.length;
  for (let i = 0; i < n; i++) {
    const v = score[detOf[s + i]];
    let lo = 0, hi = u - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    const r = u - 1 - lo;
    rankOf[i] = r;
    count[r + 1]++;
  }
}

/** Positions in rank order, ties in position order (a counting sort). */
function placeByRank(s: number, n: number, u: number, rankOf: Int32Array, count: Int32Array): Int32Array {
  for (let r = 0; r < u; r++) count[r + 1] += count[r];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[count[rankOf[i]]++] = s + i;
  return out;
}

/** One category's detections in score order, and which maxDets each one counts for. */
interface CategoryOrder {
  n: number;
  /** Layout positions by descending score (stable). */
  sorted: Int32Array;
  /** Their scores. */
  sortedScore: Float64Array;
  /** The maxDets a detection counts for form a suffix of the (ascending) list: from firstM on. */
  firstM: Uint8Array;
  /** Detections counted per maxDets. */
  nd: Int32Array;
  /** Score-order position of the first detection counted per maxDets (-1: none). */
  firstKept: Int32Array;
}

function orderCategory(c: CategoryOrder, detOf: Int32Array, rank: Int32Array, score: Float64Array, maxDets: Float64Array): void {
  const { n, sorted, sortedScore, firstM, nd, firstKept } = c;
  const M = maxDets.length;
  for (let i = 0; i < n; i++) {
    sortedScore[i] = score[detOf[sorted[i]]];
    const r = rank[sorted[i]];
    let f = 0;
    while (f < M && r >= maxDets[f]) f++;
    firstM[i] = f;
    for (let m = f; m < M; m++) {
      if (firstKept[m] < 0) firstKept[m] = i;
      nd[m]++;
    }
  }
}

/** Counts true/false positives in score order per maxDets, recording each true positive's position and precision. */
function scanOutcomes(
  outcome: Uint8Array, base: number, c: CategoryOrder, M: number,
  tp: Int32Array, fp: Int32Array, tpIndex: Int32Array, tpPrecision: Float64Array,
): void {
  const { n, sorted, firstM } = c;
  tp.fill(0);
  fp.fill(0);
  for (let i = 0; i < n; i++) {
    const o = outcome[base + sorted[i]];
    if (o === IGNORED) continue;
    for (let m = firstM[i]; m < M; m++) {
      if (o === TP) {
        const k = ++tp[m];
        tpIndex[m * (n + 1) + k] = i;
        tpPrecision[m * (n + 1) + k] = k / (fp[m] + k + NP_SPACING_1);
      } else fp[m]++;
    }
  }
}

/** Makes tpPrecision[off + 1 .. off + tpm] non-increasing: each value the maximum of itself and those after it. */
function monotoneFromRight(tpPrecision: Float64Array, off: number, tpm: number): void {
  for (let k = tpm - 1; k >= 1; k--) if (tpPrecision[off + k + 1] > tpPrecision[off + k]) tpPrecision[off + k] = tpPrecision[off + k + 1];
}

/**
 * Precision and score at each recall threshold for one maxDets. Precision made monotone from
 * the right, read at the first index with recall >= r, is the maximum of tp/(fp+tp+eps) over
 * the true positives from there on (between true positives precision only falls), so
 * pycocotools' full rc/pr arrays are never built; every value is the same double.
 */
function readPrecision(
  c: CategoryOrder, m: number, tpm: number, np: number, recThrs: Float64Array,
  tpIndex: Int32Array, tpPrecision: Float64Array, precision: Float64Array, scores: Float64Array, cell0: number, step: number,
): void {
  const off = m * (c.n + 1);
  monotoneFromRight(tpPrecision, off, tpm);
  // read at index 0: before the first true positive precision is 0/(fp+eps) = 0
  const firstPr = tpm > 0 ? tpPrecision[off + 1] : 0;
  const counted = c.nd[m] > 0;
  let need = 0; // smallest tp count whose recall tp/np reaches the threshold
  for (let r = 0, cell = cell0; r < recThrs.length; r++, cell += step) {
    const rt = recThrs[r];
    while (need <= tpm && need / np < rt) need++;
    if (!counted || need > tpm) {
      precision[cell] = 0;
      scores[cell] = 0;
    } else if (need === 0) {
      precision[cell] = firstPr;
      scores[cell] = c.sortedScore[c.firstKept[m]];
    } else {
      precision[cell] = tpPrecision[off + need];
      scores[cell] = c.sortedScore[tpIndex[off + need]];
    }
  }
}
