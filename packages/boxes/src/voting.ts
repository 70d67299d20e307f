// Bounding-box voting (Gidaris & Komodakis 2015, as Detectron's `box_voting`): each box that
// survived NMS is replaced by the score-weighted mean of every candidate overlapping it by
// at least the vote threshold, and rescored by one of six methods.
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectOneOf, type BoxArray } from '@omnidistill/core';
import type { BoxColumns } from './grid.js';
import { iouCols, toColumns } from './iou.js';
import { toLabelArray, toScoredBoxes, type ScoredBoxesInput } from './inputs.js';
import { checkBoxes, checkConvention, checkOptions, checkScores, checkThreshold, type PixelConventionInput } from './validate.js';

/** Detectron's `TEST.BBOX_VOTE.SCORING_METHOD` values, lower case. */
export type VoteScoring = 'id' | 'avg' | 'iou_avg' | 'generalized_avg' | 'quasi_sum' | 'temp_avg';
export const VOTE_SCORINGS: readonly VoteScoring[] = Object.freeze(['id', 'avg', 'iou_avg', 'generalized_avg', 'quasi_sum', 'temp_avg']);

export interface VotingOptions {
  /** Voters are candidates with IoU >= this with the voting box (default 0.8, Detectron's). */
  voteThreshold?: number;
  /** Rescoring method (default `id`: keep the score). */
  scoring?: VoteScoring;
  /** β of `generalized_avg`, `quasi_sum`, `temp_avg` (default 1). */
  beta?: number;
  /** IoU convention (default `continuous`; Detectron uses `pixelIndex`, i.e. +1, which it calls `plusOne`). */
  convention?: PixelConventionInput;
}

/** Scored boxes: `[N, 4]` boxes and `[N]` scores in [0, 1]. */
export interface ScoredBoxes {
  boxes: BoxArray;
  scores: Float32Array | Float64Array;
}

export interface VotedBoxes {
  boxes: Float64Array;
  scores: Float64Array;
}

interface VoteParams {
  threshold: number;
  scoring: VoteScoring;
  beta: number;
  e: number;
}

function readVoteOptions(options: VotingOptions | undefined): VoteParams {
  const o = checkOptions(options);
  const scoring = expectOneOf(o.scoring ?? 'id', 'options.scoring', VOTE_SCORINGS);
  const beta = expectFiniteNumber(o.beta ?? 1, 'options.beta');
  if ((scoring === 'generalized_avg' || scoring === 'temp_avg') && !(beta > 0)) {
    throw new OmniRangeError('options.beta', `a positive number for scoring "${scoring}"`, beta);
  }
  return {
    threshold: checkThreshold(o.voteThreshold ?? 0.8, 'options.voteThreshold'),
    scoring,
    beta,
    e: checkConvention(o.convention, 'options.convention') === 'pixelIndex' ? 1 : 0,
  };
}

/** Box voting options plus which boxes to refine. */
export interface BoxVotingOptions extends VotingOptions {
  /**
   * The boxes to refine: indices into `all` (typically what NMS kept; each then always votes
   * for itself), or separate scored boxes `{ boxes, scores }`. Required.
   */
  top: Int32Array | readonly number[] | ScoredBoxesInput;
}

/**
 * Box voting. `all` are every candidate (e.g. the union over transforms, one class);
 * `options.top` are the boxes to refine. Returns the refined boxes and scores in `top` order.
 *
 * Never NaN: if the voters' scores sum to 0 the box is their unweighted mean; a top box given
 * as coordinates with no voter at all (only possible for an empty box) is returned unchanged.
 *
 * @example
 * const keep = nms(all, { iouThreshold: 0.5 });
 * const voted = boxVoting(all, { top: keep, scoring: 'avg' });
 */
export function boxVoting(all: ScoredBoxesInput, options: BoxVotingOptions): VotedBoxes;
/** @deprecated the positional form; use `boxVoting(all, { top, ...options })`. */
export function boxVoting(all: ScoredBoxesInput, top: Int32Array | readonly number[] | ScoredBoxesInput, options?: VotingOptions): VotedBoxes;
export function boxVoting(
  allInput: ScoredBoxesInput,
  second: BoxVotingOptions | Int32Array | readonly number[] | ScoredBoxesInput,
  third?: VotingOptions,
): VotedBoxes {
  const legacy = third !== undefined || second instanceof Int32Array || Array.isArray(second) || (second !== null && typeof second === 'object' && 'boxes' in second);
  const [topInput, options] = legacy ? [second as BoxVotingOptions['top'], third] : [(second as BoxVotingOptions)?.top, second as BoxVotingOptions];
  const p = readVoteOptions(options);
  const all = toScoredBoxes(allInput, 'all');
  const n = checkBoxes(all.boxes, 'all.boxes');
  checkScores(all.scores, 'all.scores', n, [0, 1]);
  const allCols = toColumns(all.boxes);
  if (topInput instanceof Int32Array || Array.isArray(topInput)) {
    const top = topInput instanceof Int32Array ? topInput : toLabelArray(topInput, 'top');
    top.forEach((k, i) => {
      if (k < 0 || k >= n) throw new OmniRangeError(`top[${i}]`, `an index into all (0..${n - 1})`, k);
    });
    return voteByIndex(allCols, all.scores, n, top, p);
  }
  if (topInput === null || typeof topInput !== 'object') {
    throw new OmniTypeError(legacy ? 'top' : 'options.top', 'an Int32Array or number[] of indices into all, or scored boxes { boxes, scores }', topInput);
  }
  const top = toScoredBoxes(topInput, 'top');
  const m = checkBoxes(top.boxes, 'top.boxes');
  checkScores(top.scores, 'top.scores', m, [0, 1]);
  return voteByBoxes(allCols, all.scores, n, toColumns(top.boxes), top.scores, m, p);
}

/**
 * Candidates sorted by x1, for range queries. IoU(k, j) >= t > 0 forces the x-overlap to be
 * at least t · max(w_k, w_j), hence x1_j within [x1_k − (1 − t) / t · w_k, x1_k + (1 − t) · w_k]
 * (same for y); only that window of the sorted list is examined.
 */
export interface X1Index {
  ids: Int32Array;
  x1: Float64Array;
}

export function x1Index(cols: BoxColumns, n: number): X1Index {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  ids.sort((a, b) => cols.x1[a] - cols.x1[b] || a - b);
  const x1 = new Float64Array(n);
  for (let i = 0; i < n; i++) x1[i] = cols.x1[ids[i]];
  return { ids, x1 };
}

function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Voting for top boxes that are members of `all` (ids into the columns). */
export function voteByIndex(cols: BoxColumns, scores: ArrayLike<number>, n: number, top: ArrayLike<number>, p: VoteParams, index?: X1Index): VotedBoxes {
  const m = top.length;
  const out: VotedBoxes = { boxes: new Float64Array(4 * m), scores: new Float64Array(m) };
  const voters = new Int32Array(n);
  const ious = new Float64Array(n);
  const t = p.threshold;
  // A vote threshold of 0 admits disjoint boxes (IoU 0 >= 0): no pruning then.
  const idx = t > 0 ? (index ?? x1Index(cols, n)) : null;
  // Window factors, widened a hair so rounding never drops a voter.
  const before = ((1 - t) / t) * (1 + 1e-9) + 1e-12;
  const after = (1 - t) * (1 + 1e-9) + 1e-12;
  for (let r = 0; r < m; r++) {
    const k = top[r];
    let count = 0;
    if (idx) {
      const wk = cols.x2[k] - cols.x1[k] + p.e;
      const hk = cols.y2[k] - cols.y1[k] + p.e;
      const x1k = cols.x1[k];
      const y1k = cols.y1[k];
      const yLo = y1k - before * hk;
      const yHi = y1k + after * hk;
      const xHi = x1k + after * wk;
      for (let q = lowerBound(idx.x1, x1k - before * wk); q < n && idx.x1[q] <= xHi; q++) {
        const j = idx.ids[q];
        const y1j = cols.y1[j];
        if ((y1j < yLo || y1j > yHi) && j !== k) continue;
        const iou = j === k ? 1 : iouCols(cols, k, j, p.e);
        if (iou >= t) {
          voters[count] = j;
          ious[count++] = iou;
        }
      }
      if (wk <= 0 || hk <= 0) count = forceSelf(voters, ious, count, k);
    } else {
      for (let j = 0; j < n; j++) {
        const iou = j === k ? 1 : iouCols(cols, k, j, p.e);
        if (iou >= t) {
          voters[count] = j;
          ious[count++] = iou;
        }
      }
    }
    writeVote(cols, scores, voters, ious, count, scores[k], p, out, r);
  }
  return out;
}

// An empty top box (zero width or height) may sit outside its own window's arithmetic; it
// always votes for itself (REFERENCE.md §4: k is always in S).
function forceSelf(voters: Int32Array, ious: Float64Array, count: number, k: number): number {
  for (let a = 0; a < count; a++) if (voters[a] === k) return count;
  voters[count] = k;
  ious[count] = 1;
  return count + 1;
}

function voteByBoxes(
  cols: BoxColumns, scores: ArrayLike<number>, n: number, top: BoxColumns, topScores: ArrayLike<number>, m: number, p: VoteParams,
): VotedBoxes {
  const out: VotedBoxes = { boxes: new Float64Array(4 * m), scores: new Float64Array(m) };
  const voters = new Int32Array(n);
  const ious = new Float64Array(n);
  for (let t = 0; t < m; t++) {
    let count = 0;
    for (let j = 0; j < n; j++) {
      const iou = iouOfCols(top, t, cols, j, p.e);
      if (iou >= p.threshold) {
        voters[count] = j;
        ious[count++] = iou;
      }
    }
    if (count === 0) {
      out.boxes.set([top.x1[t], top.y1[t], top.x2[t], top.y2[t]], 4 * t);
      out.scores[t] = topScores[t];
    } else {
      writeVote(cols, scores, voters, ious, count, topScores[t], p, out, t);
    }
  }
  return out;
}

function iouOfCols(a: BoxColumns, i: number, b: BoxColumns, j: number, e: number): number {
  const w = Math.min(a.x2[i], b.x2[j]) - Math.max(a.x1[i], b.x1[j]) + e;
  if (w <= 0) return 0;
  const h = Math.min(a.y2[i], b.y2[j]) - Math.max(a.y1[i], b.y1[j]) + e;
  if (h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2[i] - a.x1[i] + e) * (a.y2[i] - a.y1[i] + e) + (b.x2[j] - b.x1[j] + e) * (b.y2[j] - b.y1[j] + e) - inter;
  return union > 0 ? inter / union : 0;
}

/** Fused box and new score from `count` voters. */
function writeVote(
  cols: BoxColumns, scores: ArrayLike<number>, voters: Int32Array, ious: Float64Array, count: number, ownScore: number,
  p: VoteParams, out: VotedBoxes, t: number,
): void {
  let sw = 0;
  let sx1 = 0;
  let sy1 = 0;
  let sx2 = 0;
  let sy2 = 0;
  for (let a = 0; a < count; a++) {
    const j = voters[a];
    const s = scores[j];
    sw += s;
    sx1 += s * cols.x1[j];
    sy1 += s * cols.y1[j];
    sx2 += s * cols.x2[j];
    sy2 += s * cols.y2[j];
  }
  if (sw > 0) {
    out.boxes[4 * t] = sx1 / sw;
    out.boxes[4 * t + 1] = sy1 / sw;
    out.boxes[4 * t + 2] = sx2 / sw;
    out.boxes[4 * t + 3] = sy2 / sw;
  } else {
    let ux1 = 0;
    let uy1 = 0;
    let ux2 = 0;
    let uy2 = 0;
    for (let a = 0; a < count; a++) {
      const j = voters[a];
      ux1 += cols.x1[j];
      uy1 += cols.y1[j];
      ux2 += cols.x2[j];
      uy2 += cols.y2[j];
    }
    out.boxes.set([ux1 / count, uy1 / count, ux2 / count, uy2 / count], 4 * t);
  }
  out.scores[t] = voteScore(scores, voters, ious, count, sw, ownScore, p);
}

function voteScore(scores: ArrayLike<number>, voters: Int32Array, ious: Float64Array, count: number, sum: number, own: number, p: VoteParams): number {
  switch (p.scoring) {
    case 'id':
      return own;
    case 'avg':
      return sum / count;
    case 'iou_avg': {
      let num = 0;
      let den = 0;
      for (let a = 0; a < count; a++) {
        num += ious[a] * scores[voters[a]];
        den += ious[a];
      }
      return den > 0 ? num / den : sum / count;
    }
    case 'generalized_avg': {
      let acc = 0;
      for (let a = 0; a < count; a++) acc += scores[voters[a]] ** p.beta;
      return (acc / count) ** (1 / p.beta);
    }
    case 'quasi_sum':
      return sum / count ** p.beta;
    case 'temp_avg': {
      // Two-class distribution (s, 1 − s), log-probabilities divided by β, renormalised.
      let acc = 0;
      for (let a = 0; a < count; a++) {
        const s = scores[voters[a]];
        const m = Math.max(s, 1 - s);
        const e0 = Math.exp(Math.log(s / m) / p.beta);
        const e1 = Math.exp(Math.log((1 - s) / m) / p.beta);
        acc += e0 / (e0 + e1);
      }
      return acc / count;
    }
  }
}
