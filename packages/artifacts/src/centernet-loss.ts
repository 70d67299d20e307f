// CenterNet's detection loss (Zhou et al., "Objects as Points"): penalty-reduced focal loss on
// per-class centre heatmaps plus L1 on the box size and the sub-cell centre offset at the
// centres. One implementation for the reference detector (models/) and imported detector
// students (onnx-student.ts); the targets it reads are built by models' writeDetectorTargets.

import { OmniRangeError } from '@omnidistill/core';
import type { GraphBuilder, Value } from './graph.js';
import { fmtShape } from './shapes.js';

/** Names of the target inputs the CenterNet loss adds to a training graph. */
export const CENTERNET_TARGETS = {
  /** float [B, C, h, w]: Gaussian-splatted centres, exactly 1 at each centre cell. */
  heat: 'det_heat',
  /** float [B, 4, h, w]: box width and height in feature cells, centre offset x and y, at the centres. */
  regression: 'det_reg',
  /** float [B, 1, h, w]: 1 at the centre cells. */
  mask: 'det_mask',
} as const;

export interface CenterNetLossOptions {
  /** Weight of the size L1 term (CenterNet's 0.1). */
  readonly sizeWeight?: number;
}

/** log(1 + e^z), stable. */
function softplus(g: GraphBuilder, z: Value): Value {
  return g.add(g.relu(z), g.log(g.add(g.exp(g.neg(g.abs(z))), 1)));
}

/** Penalty-reduced focal loss (α = 2, β = 4) over centre logits, summed and divided by `npos`. */
export function centerNetFocalLoss(g: GraphBuilder, logits: Value, heat: Value, npos: Value): Value {
  const p = g.sigmoid(logits);
  const logp = g.neg(softplus(g, g.neg(logits)));
  const log1mp = g.neg(softplus(g, logits));
  const pos = g.cast(g.greaterOrEqual(heat, 1), 'float32');
  const oneMinusP = g.sub(g.scalar(1), p);
  const posTerm = g.mul(g.mul(g.mul(oneMinusP, oneMinusP), logp), pos);
  const negWeight = g.mul(g.pow(g.sub(g.scalar(1), heat), 4), g.sub(g.scalar(1), pos));
  const negTerm = g.mul(g.mul(g.mul(p, p), log1mp), negWeight);
  const axes = logits.shape.map((_, i) => i);
  return g.neg(g.div(g.add(g.reduceSum(posTerm, axes), g.reduceSum(negTerm, axes)), npos));
}

/**
 * The full CenterNet loss of heatmap logits [B, C, h, w] and a regression map [B, 4, h, w]
 * (width, height in cells, offset x, y): focal + (sizeWeight · L1(size) + L1(offset)) / max(#centres, 1).
 * Adds the target inputs named in {@link CENTERNET_TARGETS}.
 *
 * @example
 * const loss = centerNetLoss(g, heatLogits, g.concat([size, offset], 1), { sizeWeight: 0.1 });
 */
export function centerNetLoss(g: GraphBuilder, heatLogits: Value, regression: Value, options: CenterNetLossOptions = {}): Value {
  if (heatLogits.shape.length !== 4) throw new OmniRangeError('centerNetLoss: heatmap logits', '[B, C, h, w]', fmtShape(heatLogits.shape));
  const [b, c, hf, wf] = heatLogits.shape;
  const r = regression.shape;
  if (r.length !== 4 || r[0] !== b || r[1] !== 4 || r[2] !== hf || r[3] !== wf) {
    throw new OmniRangeError('centerNetLoss: regression', fmtShape([b, 4, hf, wf]), fmtShape(r));
  }
  const T = CENTERNET_TARGETS;
  const heat = g.input(T.heat, 'float32', [b, c, hf, wf]);
  const target = g.input(T.regression, 'float32', [b, 4, hf, wf]);
  const mask = g.input(T.mask, 'float32', [b, 1, hf, wf]);
  const npos = g.max(g.reduceSum(mask, [0, 1, 2, 3]), 1);
  const focal = centerNetFocalLoss(g, heatLogits, heat, npos);
  const l1 = g.mul(g.abs(g.sub(regression, target)), mask); // [B, 4, h, w]
  const size = g.reduceSum(g.slice(l1, [0], [2], [1]), [0, 1, 2, 3]);
  const offset = g.reduceSum(g.slice(l1, [2], [4], [1]), [0, 1, 2, 3]);
  return g.add(focal, g.div(g.add(g.mul(size, options.sizeWeight ?? 0.1), offset), npos));
}
