// A YOLO-style detection loss for Ultralytics-style raw heads: predictions [B, 4 + C, A], per
// anchor point a box (cx, cy, w, h in input pixels, already decoded by the model) and C class
// scores. BCE on the class scores of every anchor, and at the foreground anchors L1 on the box
// (in units of the anchor's stride) plus 1 − GIoU. Foreground anchors and their boxes come from
// a static centre-sampling assignment written with the minibatch (models' writeYoloTargets), not
// from the predictions: the loss stays one differentiable function of the heads, checked
// against torch autograd (tools/student/yolo_det.py). The anchor grid is Ultralytics'
// (make_anchors): per stride in order, cell centres ((x + 0.5)·s, (y + 0.5)·s), row-major.

import { OmniRangeError } from '@omnidistill/core';
import type { GraphBuilder, Value } from './graph.js';
import { fmtShape } from './shapes.js';

/** Names of the target inputs the YOLO loss adds to a training graph. */
export const YOLO_TARGETS = {
  /** float [B, C, A]: 1 for the assigned class at foreground anchors, 0 elsewhere. */
  classes: 'yolo_cls',
  /** float [B, 4, A]: the assigned box (cx, cy, w, h in input pixels) at foreground anchors, 0 elsewhere. */
  boxes: 'yolo_box',
  /** float [B, 1, A]: 1 at foreground anchors. */
  foreground: 'yolo_fg',
} as const;

/** What the class channels hold: probabilities (an export that ends in a Sigmoid, Ultralytics') or logits. */
export type YoloScores = 'probabilities' | 'logits';

export interface YoloLossOptions {
  /** Input pixels per cell of each feature level, in the order the anchors are concatenated (Ultralytics: [8, 16, 32]). */
  readonly strides: readonly number[];
  /** Input size [H, W] the anchor grid covers. */
  readonly inputSize: readonly [number, number];
  /** Default 'probabilities'. */
  readonly scores?: YoloScores;
  /** Weight of the L1 box term, in strides (default 1, YOLOX's). */
  readonly l1Weight?: number;
  /** Weight of the 1 − GIoU term (default 5, YOLOX's IoU-loss weight). */
  readonly iouWeight?: number;
}

/** Anchor points of the feature levels: centres in input pixels and each one's stride. */
export interface YoloAnchorGrid {
  /** x of each anchor (input pixels). */
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly stride: Float32Array;
  /** Number of anchors A. */
  readonly count: number;
}

/**
 * Ultralytics' anchor grid for an H × W input: for each stride s in order, the centres of the
 * ceil(H/s) × ceil(W/s) cells (what stride-2 convolutions with padding 1 produce), row-major.
 *
 * @example
 * yoloAnchorGrid(64, 64, [8, 16]).count; // 64 + 16 = 80
 */
export function yoloAnchorGrid(height: number, width: number, strides: readonly number[]): YoloAnchorGrid {
  if (strides.length === 0 || !strides.every((s) => Number.isInteger(s) && s >= 1)) throw new OmniRangeError('yolo strides', 'positive integers, e.g. [8, 16, 32]', strides.join(', '));
  const levels = strides.map((s) => ({ s, h: Math.ceil(height / s), w: Math.ceil(width / s) }));
  const count = levels.reduce((n, l) => n + l.h * l.w, 0);
  const x = new Float32Array(count);
  const y = new Float32Array(count);
  const stride = new Float32Array(count);
  let a = 0;
  for (const { s, h, w } of levels) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++, a++) {
        x[a] = (j + 0.5) * s;
        y[a] = (i + 0.5) * s;
        stride[a] = s;
      }
    }
  }
  return { x, y, stride, count };
}

/** log(1 + e^z), stable. */
function softplus(g: GraphBuilder, z: Value): Value {
  return g.add(g.relu(z), g.log(g.add(g.exp(g.neg(g.abs(z))), 1)));
}

/** Smallest probability the BCE takes the log of (torch's BCELoss clamps the log at −100 instead). */
const PROBABILITY_FLOOR = 1e-7;

/** Elementwise binary cross-entropy of class scores against 0/1 targets. */
function binaryCrossEntropy(g: GraphBuilder, scores: Value, target: Value, kind: YoloScores): Value {
  if (kind === 'logits') return g.sub(softplus(g, scores), g.mul(target, scores));
  const logp = g.log(g.max(scores, PROBABILITY_FLOOR));
  const log1mp = g.log(g.max(g.sub(g.scalar(1), scores), PROBABILITY_FLOOR));
  return g.neg(g.add(g.mul(target, logp), g.mul(g.sub(g.scalar(1), target), log1mp)));
}

/** Channel `i` of a [B, 4, A] box tensor as [B, 1, A]. */
const part = (g: GraphBuilder, boxes: Value, i: number): Value => g.slice(boxes, [i], [i + 1], [1]);

/** Generalised IoU (Rezatofighi et al.) of two [B, 4, A] cx, cy, w, h box tensors, [B, 1, A]; negative sizes count as 0. */
export function generalizedIou(g: GraphBuilder, a: Value, b: Value): Value {
  const corners = (v: Value) => {
    const hw = g.mul(g.relu(part(g, v, 2)), 0.5);
    const hh = g.mul(g.relu(part(g, v, 3)), 0.5);
    const cx = part(g, v, 0);
    const cy = part(g, v, 1);
    return { x1: g.sub(cx, hw), y1: g.sub(cy, hh), x2: g.add(cx, hw), y2: g.add(cy, hh), area: g.mul(g.mul(hw, hh), 4) };
  };
  const p = corners(a);
  const q = corners(b);
  const iw = g.relu(g.sub(g.min(p.x2, q.x2), g.max(p.x1, q.x1)));
  const ih = g.relu(g.sub(g.min(p.y2, q.y2), g.max(p.y1, q.y1)));
  const inter = g.mul(iw, ih);
  // The floors keep background anchors (both boxes empty, masked out later) finite.
  const union = g.max(g.sub(g.add(p.area, q.area), inter), 1e-9);
  const cw = g.sub(g.max(p.x2, q.x2), g.min(p.x1, q.x1));
  const ch = g.sub(g.max(p.y2, q.y2), g.min(p.y1, q.y1));
  const hull = g.max(g.mul(cw, ch), 1e-9);
  return g.sub(g.div(inter, union), g.div(g.sub(hull, union), hull));
}

/**
 * The YOLO-style loss of predictions [B, 4 + C, A]:
 * (Σ BCE(scores, classes) + Σ_fg (l1Weight · |box − target| / stride + iouWeight · (1 − GIoU))) / max(#fg, 1).
 * Adds the target inputs named in {@link YOLO_TARGETS}.
 *
 * @example
 * const loss = yoloLoss(g, predictions, { strides: [8, 16, 32], inputSize: [640, 640] });
 */
export function yoloLoss(g: GraphBuilder, predictions: Value, options: YoloLossOptions): Value {
  const shape = predictions.shape;
  if (shape.length !== 3 || shape[1] < 5) throw new OmniRangeError('yoloLoss: predictions', '[B, 4 + C, A] (cx, cy, w, h, class scores)', fmtShape(shape));
  const [b, channels, a] = shape;
  const grid = yoloAnchorGrid(options.inputSize[0], options.inputSize[1], options.strides);
  if (grid.count !== a) {
    throw new OmniRangeError(
      'yolo strides',
      `strides whose anchor grids over the ${options.inputSize[1]}×${options.inputSize[0]} input add up to the predictions' ${a} anchors`,
      `[${options.strides.join(', ')}] (${grid.count} anchors)`,
    );
  }
  const c = channels - 4;
  const T = YOLO_TARGETS;
  const classes = g.input(T.classes, 'float32', [b, c, a]);
  const target = g.input(T.boxes, 'float32', [b, 4, a]);
  const fg = g.input(T.foreground, 'float32', [b, 1, a]);
  const npos = g.max(g.reduceSum(fg, [0, 1, 2]), 1);
  const box = g.slice(predictions, [0], [4], [1]);
  const scores = g.slice(predictions, [4], [channels], [1]);
  const bce = g.reduceSum(binaryCrossEntropy(g, scores, classes, options.scores ?? 'probabilities'), [0, 1, 2]);
  const perStride = g.floats(Float32Array.from(grid.stride, (s) => 1 / s), [1, 1, a]);
  const l1 = g.reduceSum(g.mul(g.mul(g.abs(g.sub(box, target)), perStride), fg), [0, 1, 2]);
  const giou = g.reduceSum(g.mul(g.sub(g.scalar(1), generalizedIou(g, box, target)), fg), [0, 1, 2]);
  const boxTerms = g.add(g.mul(l1, options.l1Weight ?? 1), g.mul(giou, options.iouWeight ?? 5));
  return g.div(g.add(bce, boxTerms), npos);
}
