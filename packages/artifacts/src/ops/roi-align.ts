// RoiAlign (avg mode, fixed sampling ratio; aligned = half_pixel and not) lowered to the
// separable form the reference keypoint model uses (models/roi-align.ts): per RoI, one
// interpolation matrix per axis built from the RoI coordinates in-graph, and the pooled
// features as A_y · F[b] · A_xᵀ. Differentiable w.r.t. the features through MatMul and Gather
// (ORT has no RoiAlign gradient); the RoIs themselves are data.

import type { GraphBuilder, Value } from '../graph.js';
import { type OpImporter, op } from './types.js';

/** [R, P, size] tent weights of one axis, averaged over the bin's samples (0 outside [−1, size]). */
function axisWeights(g: GraphBuilder, lo: Value, hi: Value, size: number, pooled: number, samples: number, scale: number, aligned: boolean): Value {
  let start = g.mul(lo, scale);
  let length = g.mul(g.sub(hi, lo), scale);
  if (aligned) start = g.sub(start, 0.5);
  else length = g.max(length, 1);
  const grid = g.floats(Float32Array.from({ length: size }, (_, i) => i), [1, 1, size]);
  let sum: Value | undefined;
  for (let j = 0; j < samples; j++) {
    const t = Float32Array.from({ length: pooled }, (_, p) => (p * samples + j + 0.5) / (pooled * samples));
    const pos = g.add(start, g.mul(length, g.floats(t, [1, pooled, 1]))); // [R, P, 1]
    const outside = g.node('Or', [g.less(pos, -1), g.greater(pos, size)], [{ dtype: 'bool', shape: pos.shape }])[0];
    const clamped = g.min(g.max(pos, 0), size - 1);
    const tent = g.relu(g.sub(g.scalar(1), g.abs(g.sub(clamped, grid)))); // [R, P, size]
    const w = g.mul(tent, g.cast(g.not(outside), 'float32'));
    sum = sum ? g.add(sum, w) : w;
  }
  return samples === 1 ? sum! : g.mul(sum!, 1 / samples);
}

export const roiAlign: OpImporter = op('RoiAlign', (c) => {
  const { g } = c;
  const x = c.value(0);
  const rois = c.value(1, 'data');
  const mode = c.attrString('mode', 'avg');
  if (mode !== 'avg') c.fail('mode', "'avg'", mode);
  const samples = c.attrInt('sampling_ratio', 0);
  if (samples < 1) c.fail('sampling_ratio', 'a fixed ratio ≥ 1 (adaptive 0 depends on each RoI size; torchvision MultiScaleRoIAlign uses 2)', samples);
  // Opset < 16 has no aligned mode (output_half_pixel, i.e. torchvision aligned=False).
  const ctm = c.opset >= 16 ? c.attrString('coordinate_transformation_mode', 'half_pixel') : 'output_half_pixel';
  const ph = c.attrInt('output_height', 1);
  const pw = c.attrInt('output_width', 1);
  const scale = c.attrFloat('spatial_scale', 1);
  const [n, ch, h, w] = x.shape;
  const r = rois.shape[0];
  const coord = (k: number) => g.reshape(g.slice(rois, [k], [k + 1], [1]), [r, 1, 1]);
  const aligned = ctm === 'half_pixel';
  const ay = g.reshape(axisWeights(g, coord(1), coord(3), h, ph, samples, scale, aligned), [r, 1, ph, h]);
  const ax = g.reshape(axisWeights(g, coord(0), coord(2), w, pw, samples, scale, aligned), [r, 1, pw, w]);
  // One image: every RoI reads it (MatMul broadcasts); several: gather each RoI's image.
  const features = n === 1 ? x : g.gather(x, c.value(2, 'data'), 0); // [1 or R, C, H, W]
  const rows = g.matMul(ay, features); // [R, C, P, W]
  const out = g.matMul(rows, g.transpose(ax, [0, 1, 3, 2])); // [R, C, P, Q]
  if (out.shape[1] !== ch) c.fail('output', `${ch} channels`, out.shape[1]);
  return [out];
});
