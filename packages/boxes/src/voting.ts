// Bounding-box voting (Gidaris & Komodakis 2015, as Detectron's `box_voting`): each box that
// survived NMS is replaced by the score-weighted mean of every candidate overlapping it by
// at least the vote threshold, and rescored by one of six methods.
import { OmniRangeError, OmniTypeError, expectFiniteNumber, expectOneOf, type BoxArray } from '@omnidistill/core';
import type { PixelConvention } from '@omnidistill/transforms';
import { BoxGrid, type BoxColumns } from './grid.js';
import { iouCols, toColumns } from './iou.js';
import { checkBoxes, checkConvention, checkOptions, checkScores, checkThreshold } from './validate.js';

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
  /** IoU convention (default `continuous`; Detectron uses `pixelIndex`, i.e. +1). */
  convention?: PixelConvention;
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

/**
 * Box voting. `all` are every candidate (e.g. the union over transforms, one class); `top` are
 * the boxes to refine — either indices into `all` (typically what NMS kept; each top box then
 * always votes for itself) or separate scored boxes. Returns the refined boxes and scores in
 * `top` order.
 *
 * Never NaN: if the voters' scores sum to 0 the box is their unweighted mean; a top box given
 * as coordinates with no voter at all (only possible for an empty box) is returned unchanged.
 *
 * @example
 * const keep = nms(all.boxes, all.scores, { iouThreshold: 0.5 });
 * const voted = boxVoting(all, keep, { scoring: 'avg' });
 */
export function boxVoting(all: ScoredBoxes, top: Int32Array | ScoredBoxes, options?: VotingOptions): VotedBoxes {
  const p = readVoteOptions(options);
  if (all === null || typeof all !== 'object') throw new OmniTypeError('all', 'scored boxes { boxes, scores }', all);
  const n = checkBoxes(all.boxes, 'all.boxes');
  checkScores(all.scores, 'all.scores', n, [0, 1]);
  const allCols = toColumns(all.boxes);
  if (top instanceof Int32Array) {
    top.forEach((k, i) => {
      if (k < 0 || k >= n) throw new OmniRangeError(`top[${i}]`, `an index into all (0..${n - 1})`, k);
    });
    return voteByIndex(allCols, all.scores, n, top, p);
  }
  if (top === null || typeof top !== 'object') throw new OmniTypeError('top', 'an Int32Array of indices into all, or scored boxes { boxes, scores }', top);
  const m = checkBoxes(top.boxes, 'top.boxes');
  checkScores(top.scores, 'top.scores', m, [0, 1]);
  return voteByBoxes(allCols, all.scores, n, toColumns(top.boxes), top.scores, m, p);
}

/** Voting for top boxes that are members of `all` (ids), using a grid over `all`. */
export function voteByIndex(cols: BoxColumns, scores: ArrayLike<number>, n: number, top: ArrayLike<number>, p: VoteParams, grid?: BoxGrid): VotedBoxes {
  const m = top.length;
  const out: VotedBoxes = { boxes: new Float64Array(4 * m), scores: new Float64Array(m) };
  const voters = new Int32Array(n);
  const ious = new Float64Array(n);
  // A vote threshold of 0 admits disjoint boxes (IoU 0 >= 0): no spatial pruning then.
  const g = p.threshold > 0 ? (grid ?? gridOver(cols, n, p.e)) : null;
  const near = g ? new Int32Array(n) : null;
  for (let t = 0; t < m; t++) {
    const k = top[t];
    let count = 0;
    if (g && near) {
      const c = g.near(k, near);
      for (let a = 0; a < c; a++) {
        const j = near[a];
        const iou = j === k ? 1 : iouCols(cols, k, j, p.e);
        if (iou >= p.threshold) {
          voters[count] = j;
          ious[count++] = iou;
        }
      }
    } else {
      for (let j = 0; j < n; j++) {
        const iou = j === k ? 1 : iouCols(cols, k, j, p.e);
        if (iou >= p.threshold) {
          voters[count] = j;
          ious[count++] = iou;
        }
      }
    }
    writeVote(cols, scores, voters, ious, count, scores[k], p, out, t);
  }
  return out;
}

function gridOver(cols: BoxColumns, n: number, e: number): BoxGrid {
  const g = new BoxGrid(cols, n, e);
  for (let i = 0; i < n; i++) g.insert(i);
  return g;
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
