// RoIAlign in standard ONNX ops, differentiable with respect to the features, plus its plain
// TypeScript reference. Semantics: torchvision.ops.roi_align (aligned = true by default, a
// fixed sampling ratio), i.e. Detectron2's ROIAlignV2.
//
// Bilinear sampling on a regular grid of sample points is separable: the value at sample
// (i, j) is Σ_h Σ_w a_y[i, h] · F[h, w] · a_x[j, w] with tent weights a = max(0, 1 − |p − h|),
// and the mean over a bin's sr × sr samples is separable too. So RoIAlign is two batched
// matrix products, A_y · F · A_xᵀ, with interpolation matrices computed from the RoIs
// in-graph. This is exactly the gather formulation (the four non-zero tent weights per
// sample are the bilinear weights), but its backward pass is two more MatMuls — fast on every
// runtime and free of scatter kernels — and the graph keeps N, H and W dynamic for export.
import type { GraphBuilder, Value } from '@omnidistill/artifacts';
import { OmniRangeError, expectInteger } from '@omnidistill/core';
import { dimOf, rangeOf, reshapeKeep } from './layers.js';

/** RoIAlign parameters (torchvision names). */
export interface RoiAlignOptions {
  /** Output side P (P × P bins). */
  readonly outputSize: number;
  /** Feature-map pixels per image pixel, e.g. 1/4 at stride 4. */
  readonly spatialScale: number;
  /** Samples per bin along each axis (torchvision's sampling_ratio; adaptive 0 is not supported). */
  readonly samplingRatio: number;
  /** Half-pixel offset (torchvision aligned = true). Default true. */
  readonly aligned?: boolean;
}

function checkOptions(o: RoiAlignOptions): Required<RoiAlignOptions> {
  expectInteger(o.outputSize, 'options.outputSize', 1);
  expectInteger(o.samplingRatio, 'options.samplingRatio', 1);
  if (!(o.spatialScale > 0)) throw new OmniRangeError('options.spatialScale', 'a positive number', o.spatialScale);
  return { ...o, aligned: o.aligned ?? true };
}

/**
 * Interpolation matrix of one axis, [R, 1, P, size]: row p holds the mean tent weights of the
 * bin's samples along this axis (0 for samples outside [−1, size], as torchvision).
 */
function axisWeights(g: GraphBuilder, lo: Value, hi: Value, features: Value, axis: number, o: Required<RoiAlignOptions>): Value {
  const size = features.shape[axis];
  const P = o.outputSize;
  const sr = o.samplingRatio;
  let start = g.mul(lo, o.spatialScale);
  let length = g.mul(g.sub(hi, lo), o.spatialScale);
  if (o.aligned) start = g.sub(start, 0.5);
  else length = g.max(length, 1);
  const grid = reshapeKeep(g, rangeOf(g, features, axis), [1, 1, 1, -1], [1, 1, 1, size]);
  const last = g.sub(g.cast(dimOf(g, features, axis), 'float32'), 1); // size − 1, [1]
  const sizeF = g.add(last, 1);
  let sum: Value | undefined;
  for (let j = 0; j < sr; j++) {
    const t = new Float32Array(P);
    for (let p = 0; p < P; p++) t[p] = (p * sr + j + 0.5) / (P * sr);
    const pos = g.add(start, g.mul(length, g.constant(t, [1, 1, P, 1]))); // [R, 1, P, 1]
    const valid = g.cast(g.not(g.node('Or', [g.less(pos, -1), g.greater(pos, sizeF)], [{ dtype: 'bool', shape: pos.shape }])[0]), 'float32');
    const clamped = g.min(g.max(pos, 0), last);
    const tent = g.relu(g.sub(g.scalar(1), g.abs(g.sub(clamped, grid))));
    const w = g.mul(tent, valid);
    sum = sum ? g.add(sum, w) : w;
  }
  return sr === 1 ? sum! : g.mul(sum!, 1 / sr);
}

/**
 * RoIAlign of `rois` (float32 [R, 4], x1 y1 x2 y2 in image pixels) on `features` [B, C, H, W].
 * With `batchIndex` (int64 [R]) each RoI reads its own image; without it the features must
 * have B = 1 and every RoI reads that image. Output [R, C, P, P]. Gradients flow to the
 * features only (the RoIs are data).
 *
 * @example
 * const pooled = roiAlign(g, feats, rois, undefined, { outputSize: 14, spatialScale: 1 / 4, samplingRatio: 2 });
 */
export function roiAlign(g: GraphBuilder, features: Value, rois: Value, batchIndex: Value | undefined, options: RoiAlignOptions): Value {
  const o = checkOptions(options);
  if (features.shape.length !== 4) throw new OmniRangeError('roiAlign: features.shape', '[B, C, H, W]', features.shape);
  if (rois.shape.length !== 2 || rois.shape[1] !== 4) throw new OmniRangeError('roiAlign: rois.shape', '[R, 4]', rois.shape);
  if (!batchIndex && features.shape[0] !== 1) throw new OmniRangeError('roiAlign: batchIndex', 'an int64 [R] tensor when features have B > 1', undefined);
  const R = rois.shape[0];
  const P = o.outputSize;
  const coord = (c: number) => reshapeKeep(g, g.slice(rois, [c], [c + 1], [1]), [-1, 1, 1, 1], [R, 1, 1, 1]);
  const ay = axisWeights(g, coord(1), coord(3), features, 2, o); // [R, 1, P, H]
  const ax = axisWeights(g, coord(0), coord(2), features, 3, o); // [R, 1, P, W]
  const axT = g.transpose(ax, [0, 1, 3, 2]);
  const source = batchIndex ? g.gather(features, batchIndex, 0) : features;
  return g.matMul(g.matMul(ay, source), axT);
}

/**
 * Plain TypeScript RoIAlign (torchvision's loop, float64 accumulation): the oracle of the
 * graph version. `features` [B, C, H, W] flat, `rois` [R, 4], `batchIndex` [R].
 */
export function roiAlignReference(
  features: Float32Array,
  dims: readonly [number, number, number, number],
  rois: ArrayLike<number>,
  batchIndex: ArrayLike<number>,
  options: RoiAlignOptions,
): Float32Array {
  const o = checkOptions(options);
  const [, C, H, W] = dims;
  const R = rois.length / 4;
  const P = o.outputSize;
  const sr = o.samplingRatio;
  const out = new Float32Array(R * C * P * P);
  const offset = o.aligned ? 0.5 : 0;
  const bilinear = (plane: number, y: number, x: number): number => {
    if (y < -1 || y > H || x < -1 || x > W) return 0;
    y = Math.max(y, 0);
    x = Math.max(x, 0);
    let yl = Math.floor(y);
    let xl = Math.floor(x);
    let yh: number;
    let xh: number;
    if (yl >= H - 1) { yh = yl = H - 1; y = yl; } else yh = yl + 1;
    if (xl >= W - 1) { xh = xl = W - 1; x = xl; } else xh = xl + 1;
    const ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
    const f = (yy: number, xx: number) => features[plane + yy * W + xx];
    return hy * hx * f(yl, xl) + hy * lx * f(yl, xh) + ly * hx * f(yh, xl) + ly * lx * f(yh, xh);
  };
  for (let r = 0; r < R; r++) {
    const b = batchIndex[r];
    const x1 = rois[4 * r] * o.spatialScale - offset;
    const y1 = rois[4 * r + 1] * o.spatialScale - offset;
    let rw = rois[4 * r + 2] * o.spatialScale - offset - x1;
    let rh = rois[4 * r + 3] * o.spatialScale - offset - y1;
    if (!o.aligned) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
    const bw = rw / P, bh = rh / P;
    for (let c = 0; c < C; c++) {
      const plane = (b * C + c) * H * W;
      for (let py = 0; py < P; py++) {
        for (let px = 0; px < P; px++) {
          let acc = 0;
          for (let iy = 0; iy < sr; iy++) {
            const y = y1 + py * bh + ((iy + 0.5) * bh) / sr;
            for (let ix = 0; ix < sr; ix++) acc += bilinear(plane, y, x1 + px * bw + ((ix + 0.5) * bw) / sr);
          }
          out[((r * C + c) * P + py) * P + px] = acc / (sr * sr);
        }
      }
    }
  }
  return out;
}
