// Soft-NMS (Bodla et al. 2017; parity target ensemble_boxes `soft_nms`): instead of
// deleting overlapping boxes, decay their scores; keep what stays above a threshold.
import { OmniTypeError, expectOneOf, type ImageSize } from '@omnidistill/core';
import type { DetectionsInput } from './inputs.js';
import { orderByScoreDesc } from './order.js';
import { checkModels, checkWeights, prepareModels, readFusionArgs, type FusedDetections, type FusionOptions } from './prepare.js';
import { checkPositive, checkThreshold } from './validate.js';

export interface SoftNmsOptions extends FusionOptions {
  /** `linear`: s · (1 − IoU) when IoU > iouThreshold; `gaussian` (default): s · exp(−IoU² / σ). */
  method?: 'linear' | 'gaussian';
  /** Linear method only (default 0.5). */
  iouThreshold?: number;
  /** Gaussian method only (default 0.5). */
  sigma?: number;
  /** Keep boxes whose decayed score is > this (default 0.001). */
  scoreThreshold?: number;
  /** Per-model weights: scores become s · w / Σw (ensemble_boxes). Default: none. */
  weights?: readonly number[];
  /**
   * Which score each kept box carries: `decayed` (default) — the score soft-NMS assigned, the
   * one it thresholded; `original` — the input score, as ensemble_boxes returns (its kept
   * boxes are chosen by decayed score but reported with their undecayed score).
   */
  returnedScores?: 'decayed' | 'original';
  /** @deprecated the old name of `returnedScores` (easily confused with a scores array). */
  scores?: 'decayed' | 'original';
}

export interface SoftNmsResult extends FusedDetections {
  /** Index of each kept box in the concatenation of all models' inputs (model-major). */
  indices: Int32Array;
}

/**
 * Soft-NMS per label over the union of several models' detections of one image (pixel boxes
 * plus image size; out-of-image coordinates clipped, swapped corners repaired, empty boxes
 * dropped, as ensemble_boxes does). Output sorted by descending returned score (stable: labels
 * ascending, then selection order).
 */
export function softNms(models: readonly DetectionsInput[], options: SoftNmsOptions): SoftNmsResult;
/** @deprecated the positional form; use `softNms(models, { image, ...options })`. */
export function softNms(models: readonly DetectionsInput[], image: ImageSize, options?: Omit<SoftNmsOptions, 'image'>): SoftNmsResult;
export function softNms(models: readonly DetectionsInput[], second: SoftNmsOptions | ImageSize, third?: Omit<SoftNmsOptions, 'image'>): SoftNmsResult {
  const { options: o, image, imagePath } = readFusionArgs<SoftNmsOptions>(second, third);
  const list = checkModels(models, 'models');
  const method = expectOneOf(o.method ?? 'gaussian', 'options.method', ['linear', 'gaussian'] as const);
  const nt = checkThreshold(o.iouThreshold ?? 0.5, 'options.iouThreshold');
  const sigma = checkPositive(o.sigma ?? 0.5, 'options.sigma');
  const thresh = checkThreshold(o.scoreThreshold ?? 0.001, 'options.scoreThreshold');
  const which = readReturnedScores(o);
  const p = prepareModels(list, image, 'models', { repairSwapped: true, clip: true, dropEmpty: true, skipBelow: -Infinity }, imagePath);
  if (o.weights !== undefined) {
    const w = checkWeights(o.weights, list.length, 'options.weights');
    const sum = w.reduce((a, b) => a + b, 0);
    for (let i = 0; i < p.n; i++) p.score[i] = (p.score[i] * w[p.model[i]]) / sum;
  }

  const labels = Array.from(new Set(p.label.subarray(0, p.n))).sort((a, b) => a - b);
  const keptIdx: number[] = [];
  const keptScore: number[] = [];
  for (const label of labels) {
    const members: number[] = [];
    for (let i = 0; i < p.n; i++) if (p.label[i] === label) members.push(i);
    decayLabel(p, members, method, nt, sigma, thresh, keptIdx, keptScore);
  }
  const m = keptIdx.length;
  const returned = new Float64Array(m);
  for (let i = 0; i < m; i++) returned[i] = which === 'decayed' ? keptScore[i] : p.score[keptIdx[i]];
  const order = orderByScoreDesc(returned);
  const out: SoftNmsResult = { boxes: new Float64Array(4 * m), scores: new Float64Array(m), labels: new Int32Array(m), indices: new Int32Array(m) };
  order.forEach((k, r) => {
    const b = keptIdx[k];
    out.boxes.set([p.x1[b], p.y1[b], p.x2[b], p.y2[b]], 4 * r);
    out.scores[r] = returned[k];
    out.labels[r] = p.label[b];
    out.indices[r] = p.source[b];
  });
  return out;
}

/** `returnedScores`, or its deprecated name `scores` (not both). */
function readReturnedScores(o: Partial<SoftNmsOptions>): 'decayed' | 'original' {
  if (o.scores !== undefined && o.returnedScores !== undefined) {
    throw new OmniTypeError('options.scores', 'nothing when options.returnedScores is set (scores is its deprecated name)', o.scores);
  }
  const path = o.scores !== undefined ? 'options.scores' : 'options.returnedScores';
  return expectOneOf(o.returnedScores ?? o.scores ?? 'decayed', path, ['decayed', 'original'] as const);
}

/**
 * The soft-NMS loop on one label, as ensemble_boxes runs it: at step i the highest remaining
 * score (first on ties) is swapped into position i unless position i already holds a score
 * at least as high, then every later score is decayed by its overlap with it. The swap (not a
 * re-sort) decides tie order and so the output, hence it is reproduced exactly.
 */
function decayLabel(
  p: { x1: Float64Array; y1: Float64Array; x2: Float64Array; y2: Float64Array; score: Float64Array },
  members: number[], method: 'linear' | 'gaussian', nt: number, sigma: number, thresh: number,
  keptIdx: number[], keptScore: number[],
): void {
  const n = members.length;
  const idx = Int32Array.from(members);
  const s = new Float64Array(n);
  const area = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const b = idx[i];
    s[i] = p.score[b];
    area[i] = (p.x2[b] - p.x1[b]) * (p.y2[b] - p.y1[b]);
  }
  for (let i = 0; i < n; i++) {
    let maxPos = -1;
    let maxScore = -Infinity;
    for (let j = i + 1; j < n; j++) {
      if (s[j] > maxScore) {
        maxScore = s[j];
        maxPos = j;
      }
    }
    if (maxPos !== -1 && s[i] < maxScore) {
      swap(s, i, maxPos);
      swap(area, i, maxPos);
      const t = idx[i];
      idx[i] = idx[maxPos];
      idx[maxPos] = t;
    }
    const bi = idx[i];
    const ix1 = p.x1[bi];
    const iy1 = p.y1[bi];
    const ix2 = p.x2[bi];
    const iy2 = p.y2[bi];
    for (let j = i + 1; j < n; j++) {
      const bj = idx[j];
      const w = Math.max(0, Math.min(ix2, p.x2[bj]) - Math.max(ix1, p.x1[bj]));
      const h = Math.max(0, Math.min(iy2, p.y2[bj]) - Math.max(iy1, p.y1[bj]));
      const inter = w * h;
      const ovr = inter / (area[i] + area[j] - inter);
      const weight = method === 'linear' ? (ovr > nt ? 1 - ovr : 1) : Math.exp(-(ovr * ovr) / sigma);
      s[j] *= weight;
    }
  }
  for (let i = 0; i < n; i++) {
    if (s[i] > thresh) {
      keptIdx.push(idx[i]);
      keptScore.push(s[i]);
    }
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
