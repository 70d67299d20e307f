// Non-maximum weighted (Zhou et al. 2017; parity target ensemble_boxes
// `non_maximum_weighted`): clusters form around their highest-scoring box (the leader); the
// fused box is the mean of the members weighted by score × IoU with the leader; the fused
// score is the leader's.
import type { ImageSize } from '@omnidistill/core';
import type { DetectionsInput } from './inputs.js';
import { iouOf } from './iou.js';
import { packByScoreDesc } from './order.js';
import { orderWithin, type TieOrder } from './tieorder.js';
import { checkModels, checkWeights, labelsInOrder, prepareModels, readFusionArgs, type FusedDetections, type FusionOptions } from './prepare.js';
import { checkThreshold } from './validate.js';

export interface NmwOptions extends FusionOptions {
  /** One positive weight per model (default all 1). A box's score counts as s · w / max(w). */
  weights?: readonly number[];
  /** A box joins the leader with the highest IoU if that IoU is > this (default 0.55). */
  iouThreshold?: number;
  /** Boxes with score < this are ignored (default 0). */
  skipBoxThreshold?: number;
  /** Order of one label's boxes before clustering (default `stable`; `numpy`: ensemble_boxes' exact order); see {@link TieOrder}. */
  sortDescending?: TieOrder;
}

/**
 * Non-maximum weighted fusion of several models' detections of one image (pixel boxes plus
 * the image size). Output sorted by descending score.
 *
 * Differences from ensemble_boxes, on purpose:
 * - never NaN: when a cluster's weights (score × IoU) sum to 0 — all-zero scores, or an
 *   empty leader box — ensemble_boxes divides 0 by 0; here the fused box is the leader's box.
 * - weights: ensemble_boxes' handling of weights differs between releases (scores scaled by
 *   w, or by w / Σw, sometimes twice); here a score becomes s · w / max(w), so scores stay in
 *   [0, 1] and equal weights change nothing.
 * - swapped corners and boxes outside the image are errors (ensemble_boxes' NMW does not
 *   repair them either, it silently computes with them).
 */
export function nonMaximumWeighted(models: readonly DetectionsInput[], options: NmwOptions): FusedDetections;
/** @deprecated the positional form; use `nonMaximumWeighted(models, { image, ...options })`. */
export function nonMaximumWeighted(models: readonly DetectionsInput[], image: ImageSize, options?: Omit<NmwOptions, 'image'>): FusedDetections;
export function nonMaximumWeighted(models: readonly DetectionsInput[], second: NmwOptions | ImageSize, third?: Omit<NmwOptions, 'image'>): FusedDetections {
  const { options: o, image, imagePath } = readFusionArgs<NmwOptions>(second, third);
  const list = checkModels(models, 'models');
  const weights = checkWeights(o.weights, list.length, 'options.weights');
  const thr = checkThreshold(o.iouThreshold ?? 0.55, 'options.iouThreshold');
  const skip = checkThreshold(o.skipBoxThreshold ?? 0, 'options.skipBoxThreshold');
  const p = prepareModels(list, image, 'models', { repairSwapped: false, clip: false, dropEmpty: false, skipBelow: skip, requireInside: true }, imagePath);
  let maxWeight = 0;
  for (const w of weights) maxWeight = Math.max(maxWeight, w);
  const ws = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) ws[i] = (p.score[i] * weights[p.model[i]]) / maxWeight;

  const outBoxes: number[] = [];
  const outScores: number[] = [];
  const outLabels: number[] = [];
  for (const label of labelsInOrder(p.label, p.n)) {
    const subset: number[] = [];
    for (let i = 0; i < p.n; i++) if (p.label[i] === label) subset.push(i);
    const order = orderWithin(ws, subset, o.sortDescending);
    const leaders: number[] = [];
    const members: number[][] = [];
    for (const b of order) {
      let best = -1;
      let bestIou = thr;
      for (let c = 0; c < leaders.length; c++) {
        const l = leaders[c];
        const iou = iouOf(p.x1[l], p.y1[l], p.x2[l], p.y2[l], p.x1[b], p.y1[b], p.x2[b], p.y2[b], 0);
        if (iou > bestIou) {
          bestIou = iou;
          best = c;
        }
      }
      if (best === -1) {
        leaders.push(b);
        members.push([b]);
      } else {
        members[best].push(b);
      }
    }
    leaders.forEach((l, c) => {
      let sx1 = 0;
      let sy1 = 0;
      let sx2 = 0;
      let sy2 = 0;
      let conf = 0;
      for (const m of members[c]) {
        const w = ws[m] * iouOf(p.x1[m], p.y1[m], p.x2[m], p.y2[m], p.x1[l], p.y1[l], p.x2[l], p.y2[l], 0);
        sx1 += w * p.x1[m];
        sy1 += w * p.y1[m];
        sx2 += w * p.x2[m];
        sy2 += w * p.y2[m];
        conf += w;
      }
      if (conf > 0) outBoxes.push(sx1 / conf, sy1 / conf, sx2 / conf, sy2 / conf);
      else outBoxes.push(p.x1[l], p.y1[l], p.x2[l], p.y2[l]);
      outScores.push(ws[l]);
      outLabels.push(label);
    });
  }
  return packByScoreDesc(outBoxes, outScores, outLabels);
}
