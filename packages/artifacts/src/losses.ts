// Loss functions written with builder ops, so autodiff differentiates them like any other
// part of a model (both lowerings). Every loss returns a scalar (shape []).

import { OmniRangeError } from '@omnidistill/core';
import type { GraphBuilder, Value } from './graph.js';
import { fmtShape, shapeEquals } from './shapes.js';

function allAxes(v: Value): number[] {
  return v.shape.map((_, i) => i);
}

function sameShape(what: string, a: Value, b: Value): void {
  if (!shapeEquals(a.shape, b.shape)) throw new OmniRangeError(`${what}: ${b.name}.shape`, fmtShape(a.shape), fmtShape(b.shape));
}

/**
 * Mask R-CNN keypoint loss: softmax cross-entropy over the H·W positions of each heatmap.
 * `target` int64 [N, K] holds the flat index y·W + x of each keypoint; `weight` float [N, K]
 * is 1 for labeled keypoints, 0 for unlabeled ones (their target index must still be in
 * range, e.g. 0). The loss is Σ w·CE / max(Σ w, 1): the mean over labeled keypoints.
 */
export function spatialSoftmaxCrossEntropy(g: GraphBuilder, logits: Value, target: Value, weight: Value): Value {
  if (logits.shape.length !== 4) throw new OmniRangeError('spatialSoftmaxCrossEntropy: logits.shape', '[N, K, H, W]', fmtShape(logits.shape));
  const [n, k, h, w] = logits.shape;
  if (!shapeEquals(target.shape, [n, k]) || target.dtype !== 'int64') {
    throw new OmniRangeError('spatialSoftmaxCrossEntropy: target', `int64 ${fmtShape([n, k])}`, `${target.dtype} ${fmtShape(target.shape)}`);
  }
  if (!shapeEquals(weight.shape, [n, k]) || weight.dtype !== 'float32') {
    throw new OmniRangeError('spatialSoftmaxCrossEntropy: weight', `float32 ${fmtShape([n, k])}`, `${weight.dtype} ${fmtShape(weight.shape)}`);
  }
  const logp = g.logSoftmax(g.reshape(logits, [n, k, h * w]), -1);
  const picked = g.reshape(g.gatherElements(logp, g.reshape(target, [n, k, 1]), 2), [n, k]);
  const total = g.reduceSum(g.mul(picked, weight), [0, 1]);
  const count = g.max(g.reduceSum(weight, [0, 1]), 1);
  return g.neg(g.div(total, count));
}

/**
 * Cross-entropy against soft labels along the last axis, per (N, K) row: −Σ_i t_i·log softmax(x)_i,
 * weighted by `weight` [N, K] and divided by max(Σ weight, 1). With normalised Gaussian labels this
 * is SimCC's KL loss up to the labels' constant entropy.
 */
export function softLabelCrossEntropy(g: GraphBuilder, logits: Value, target: Value, weight: Value): Value {
  if (logits.shape.length !== 3) throw new OmniRangeError('softLabelCrossEntropy: logits.shape', '[N, K, L]', fmtShape(logits.shape));
  sameShape('softLabelCrossEntropy', logits, target);
  if (!shapeEquals(weight.shape, logits.shape.slice(0, 2))) throw new OmniRangeError('softLabelCrossEntropy: weight.shape', fmtShape(logits.shape.slice(0, 2)), fmtShape(weight.shape));
  const perRow = g.reduceSum(g.mul(g.logSoftmax(logits, -1), target), [2]); // [N, K]
  const total = g.reduceSum(g.mul(perRow, weight), [0, 1]);
  return g.neg(g.div(total, g.max(g.reduceSum(weight, [0, 1]), 1)));
}

/** Mean squared error, optionally weighted elementwise (weight broadcast to pred). */
export function mseLoss(g: GraphBuilder, pred: Value, target: Value, weight?: Value): Value {
  sameShape('mseLoss', pred, target);
  const d = g.sub(pred, target);
  let sq = g.mul(d, d);
  if (weight) sq = g.mul(sq, weight);
  return g.reduceMean(sq, allAxes(sq));
}

/** Mean absolute error. */
export function l1Loss(g: GraphBuilder, pred: Value, target: Value): Value {
  sameShape('l1Loss', pred, target);
  const d = g.abs(g.sub(pred, target));
  return g.reduceMean(d, allAxes(d));
}

/** torch smooth_l1_loss (mean): 0.5·d²/β where |d| < β, |d| − 0.5·β elsewhere. */
export function smoothL1Loss(g: GraphBuilder, pred: Value, target: Value, beta = 1): Value {
  sameShape('smoothL1Loss', pred, target);
  if (!(beta > 0)) throw new OmniRangeError('smoothL1Loss: beta', 'a positive number', beta);
  const d = g.sub(pred, target);
  const ad = g.abs(d);
  const quad = g.div(g.mul(g.mul(d, d), 0.5), beta);
  const lin = g.sub(ad, 0.5 * beta);
  const per = g.where(g.less(ad, beta), quad, lin);
  return g.reduceMean(per, allAxes(per));
}

export interface FocalLossOptions {
  /** Weight of positives (torchvision default 0.25); negative disables weighting. */
  readonly alpha?: number;
  readonly gamma?: number;
  /** 'mean' (default) or 'sum'; with `normalizer` the sum is divided by max(normalizer, 1). */
  readonly reduction?: 'mean' | 'sum';
  readonly normalizer?: Value;
}

/** torchvision.ops.sigmoid_focal_loss over logits and {0,1} targets of the same shape. */
export function sigmoidFocalLoss(g: GraphBuilder, logits: Value, targets: Value, options: FocalLossOptions = {}): Value {
  sameShape('sigmoidFocalLoss', logits, targets);
  const alpha = options.alpha ?? 0.25;
  const gamma = options.gamma ?? 2;
  const p = g.sigmoid(logits);
  // Numerically stable BCE with logits: max(x, 0) − x·t + log(1 + e^(−|x|)).
  const ce = g.add(g.sub(g.relu(logits), g.mul(logits, targets)), g.log(g.add(g.exp(g.neg(g.abs(logits))), 1)));
  const one = g.scalar(1);
  const pt = g.add(g.mul(p, targets), g.mul(g.sub(one, p), g.sub(one, targets)));
  let loss = g.mul(ce, g.pow(g.sub(one, pt), gamma));
  if (alpha >= 0) loss = g.mul(loss, g.add(g.mul(targets, alpha), g.mul(g.sub(one, targets), 1 - alpha)));
  if (options.normalizer) return g.div(g.reduceSum(loss, allAxes(loss)), g.max(options.normalizer, 1));
  return options.reduction === 'sum' ? g.reduceSum(loss, allAxes(loss)) : g.reduceMean(loss, allAxes(loss));
}
