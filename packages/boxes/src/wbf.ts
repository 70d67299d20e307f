// Weighted boxes fusion (Solovyev et al.; parity target ensemble_boxes
// `weighted_boxes_fusion`), in pixel coordinates with the image size.
import { expectOneOf, type ImageSize } from '@omnidistill/core';
import type { DetectionsInput } from './inputs.js';
import { iouOf } from './iou.js';
import { packByScoreDesc } from './order.js';
import { orderWithin, type TieOrder } from './tieorder.js';
import { checkModels, checkWeights, labelsInOrder, prepareModels, readFusionArgs, type FusedDetections, type FusionOptions } from './prepare.js';
import { checkThreshold } from './validate.js';

export type WbfConfidence = 'avg' | 'max' | 'box_and_model_avg' | 'absent_model_aware_avg';
export const WBF_CONFIDENCE_TYPES: readonly WbfConfidence[] = Object.freeze(['avg', 'max', 'box_and_model_avg', 'absent_model_aware_avg']);

export interface WbfOptions extends FusionOptions {
  /** One positive weight per model (default all 1). */
  weights?: readonly number[];
  /** A box joins a cluster whose fused box has IoU > this (default 0.55). */
  iouThreshold?: number;
  /** Boxes with score < this are ignored (default 0). */
  skipBoxThreshold?: number;
  /** Order of one label's boxes before clustering (default `stable`; `numpy`: ensemble_boxes' exact order); see {@link TieOrder}. */
  sortDescending?: TieOrder;
  /** How the fused confidence is computed (default `avg`). */
  confType?: WbfConfidence;
  /**
   * `bounded` (default): an `avg` confidence never exceeds 1 — see below. `upstream`:
   * ensemble_boxes' formula as is, which can exceed 1.
   *
   * ensemble_boxes rescales the mean weighted score of a cluster by min(models, boxes) / Σ
   * weights. When boxes of a heavier-than-average model appear several times in one cluster
   * the factor exceeds what a cluster of perfect (score 1) boxes could earn, and the score
   * goes above 1 (e.g. weights [0.2, 1], two boxes of model 2 at 0.9 → 1.5). `bounded`
   * divides by that attainable maximum whenever it exceeds 1, so a perfect cluster scores
   * exactly 1 and every other cluster is unchanged.
   */
  overflow?: 'bounded' | 'upstream';
}

/** One cluster being built: sums for the running fused box. */
interface Cluster {
  members: number[];
  /** Fused box (score-weighted mean of members) — what new boxes are matched against. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/**
 * Weighted boxes fusion of several models' detections of one image. Boxes are pixel
 * `[x1, y1, x2, y2]`; coordinates outside the image are clipped, swapped corners are
 * swapped back and empty boxes dropped, as ensemble_boxes does (it works in [0, 1]; here the
 * image size plays that role). Output sorted by descending fused score.
 *
 * @example
 * const fused = weightedBoxesFusion([modelA, modelB], { image: { width: 640, height: 480 }, weights: [2, 1] });
 */
export function weightedBoxesFusion(models: readonly DetectionsInput[], options: WbfOptions): FusedDetections;
/** @deprecated the positional form; use `weightedBoxesFusion(models, { image, ...options })`. */
export function weightedBoxesFusion(models: readonly DetectionsInput[], image: ImageSize, options?: Omit<WbfOptions, 'image'>): FusedDetections;
export function weightedBoxesFusion(models: readonly DetectionsInput[], second: WbfOptions | ImageSize, third?: Omit<WbfOptions, 'image'>): FusedDetections {
  const { options: o, image, imagePath } = readFusionArgs<WbfOptions>(second, third);
  const list = checkModels(models, 'models');
  const weights = checkWeights(o.weights, list.length, 'options.weights');
  const thr = checkThreshold(o.iouThreshold ?? 0.55, 'options.iouThreshold');
  const skip = checkThreshold(o.skipBoxThreshold ?? 0, 'options.skipBoxThreshold');
  const confType = expectOneOf(o.confType ?? 'avg', 'options.confType', WBF_CONFIDENCE_TYPES);
  const overflow = expectOneOf(o.overflow ?? 'bounded', 'options.overflow', ['bounded', 'upstream'] as const);
  const p = prepareModels(list, image, 'models', { repairSwapped: true, clip: true, dropEmpty: true, skipBelow: skip }, imagePath);

  // ensemble_boxes works with weighted scores s·w throughout.
  const ws = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) ws[i] = p.score[i] * weights[p.model[i]];
  const sumWeights = weights.reduce((a, b) => a + b, 0);
  let maxWeight = 0;
  for (const w of weights) maxWeight = Math.max(maxWeight, w);

  const outBoxes: number[] = [];
  const outScores: number[] = [];
  const outLabels: number[] = [];
  for (const label of labelsInOrder(p.label, p.n)) {
    const subset: number[] = [];
    for (let i = 0; i < p.n; i++) if (p.label[i] === label) subset.push(i);
    const order = orderWithin(ws, subset, o.sortDescending);
    const clusters: Cluster[] = [];
    for (const b of order) {
      const c = bestCluster(clusters, p.x1[b], p.y1[b], p.x2[b], p.y2[b], thr);
      if (c === null) {
        clusters.push({ members: [b], x1: p.x1[b], y1: p.y1[b], x2: p.x2[b], y2: p.y2[b] });
      } else {
        c.members.push(b);
        refit(c, p, ws);
      }
    }
    for (const c of clusters) {
      outBoxes.push(c.x1, c.y1, c.x2, c.y2);
      outScores.push(clusterScore(c.members, p.model, ws, weights, sumWeights, maxWeight, confType, overflow));
      outLabels.push(label);
    }
  }
  return packByScoreDesc(outBoxes, outScores, outLabels);
}

// The cluster whose fused box overlaps most, if that IoU is > thr (first best on ties).
function bestCluster(clusters: Cluster[], x1: number, y1: number, x2: number, y2: number, thr: number): Cluster | null {
  let best: Cluster | null = null;
  let bestIou = thr;
  for (const c of clusters) {
    const iou = iouOf(c.x1, c.y1, c.x2, c.y2, x1, y1, x2, y2, 0);
    if (iou > bestIou) {
      bestIou = iou;
      best = c;
    }
  }
  return best;
}

// Fused box = weighted-score-weighted mean of the members' corners.
function refit(c: Cluster, p: { x1: Float64Array; y1: Float64Array; x2: Float64Array; y2: Float64Array }, ws: Float64Array): void {
  let sx1 = 0;
  let sy1 = 0;
  let sx2 = 0;
  let sy2 = 0;
  let conf = 0;
  for (const m of c.members) {
    const w = ws[m];
    sx1 += w * p.x1[m];
    sy1 += w * p.y1[m];
    sx2 += w * p.x2[m];
    sy2 += w * p.y2[m];
    conf += w;
  }
  if (conf > 0) {
    c.x1 = sx1 / conf;
    c.y1 = sy1 / conf;
    c.x2 = sx2 / conf;
    c.y2 = sy2 / conf;
  }
  // conf = 0 (all members score 0) cannot move the box: the leader's box stays, never NaN.
}

function clusterScore(
  members: number[], model: Int32Array, ws: Float64Array, weights: Float64Array, sumWeights: number, maxWeight: number,
  confType: WbfConfidence, overflow: 'bounded' | 'upstream',
): number {
  const n = members.length;
  let conf = 0;
  let maxConf = 0;
  let memberWeights = 0;
  const present = new Set<number>();
  for (const m of members) {
    conf += ws[m];
    maxConf = Math.max(maxConf, ws[m]);
    memberWeights += weights[model[m]];
    present.add(model[m]);
  }
  switch (confType) {
    case 'max':
      return maxConf / maxWeight;
    case 'box_and_model_avg': {
      let presentWeights = 0;
      for (const t of present) presentWeights += weights[t];
      return ((conf / n) * n / memberWeights) * presentWeights / sumWeights;
    }
    case 'absent_model_aware_avg': {
      let absent = 0;
      weights.forEach((w, t) => {
        if (!present.has(t)) absent += w;
      });
      return ((conf / n) * n) / (memberWeights + absent);
    }
    case 'avg': {
      const upstream = ((conf / n) * Math.min(weights.length, n)) / sumWeights;
      if (overflow === 'upstream') return upstream;
      // What this cluster would score if every member had score 1.
      const attainable = ((memberWeights / n) * Math.min(weights.length, n)) / sumWeights;
      return attainable > 1 ? upstream / attainable : upstream;
    }
  }
}
