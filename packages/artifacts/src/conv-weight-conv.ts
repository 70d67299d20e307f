// Weight gradient of a 2-D convolution as a convolution: with X and dY transposed to put the
// batch in the channel slot, dW[o, c, p, q] = Σ_{n,i,j} Xpad[n, c, i·s + p·d, j·s + q·d] · dY[n, o, i, j]
// is a convolution of Xᵀ [C, N, H, W] (C as the batch, N as the channels) by dYᵀ [O, N, Ho, Wo]
// with stride d and dilation s, whose output is the kernel's kh × kw.
//
// On ORT's generic CPU Conv (im2col + GEMM with a Ho·Wo-tap "kernel") this form is slow, but
// as an NCHWc Conv (see nchwc.ts, which folds the dYᵀ transpose into the blocked weight) it
// runs at about the forward convolution's speed. Measured per weight gradient, 1 thread,
// in-process (CPU ms, dW alone): 16×32×24×24 → 32: 2.6 vs 3.7 with per-tap MatMuls; dilated
// 2: 2.7 vs 3.9; 16×16×48×48 → 24: 6.2 vs 8.9 with im2col; 32×32×14×14 → 68: 4.3 vs 5.3.
//
// The padding is explicit (a Pad of Xᵀ) and trimmed so that the output is exactly kh × kw:
// the NCHWc kernel's padded-border path made the same convolution ~25 % slower, and an
// output larger than the kernel (strided convolutions) would be computed only to be sliced off.
// (nchwcConvolutions then does that Pad in the blocked layout, on all threads.)

import type { GraphBuilder, Value } from './graph.js';

/**
 * dW [O, C, kh, kw] of `Conv(x, W)` (2-D, group 1) from its input `x` [N, C, H, W] and output
 * gradient `dy` [N, O, Ho, Wo]; `pads` = [top, left, bottom, right].
 *
 * @example
 * const dW = convWeightGradConv(g, x, dy, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
 */
export function convWeightGradConv(
  g: GraphBuilder,
  x: Value,
  dy: Value,
  kernel: readonly number[],
  strides: readonly number[],
  pads: readonly number[],
  dilations: readonly number[],
): Value {
  const spatial = [2, 3];
  // Input rows/columns the kernel reaches: d·(k − 1) + s·(Ho − 1) + 1 of the padded input. The
  // end padding is cut to that (never below 0: a longer input is sliced after the conv).
  const reach = spatial.map((a, i) => dilations[i] * (kernel[i] - 1) + strides[i] * (dy.shape[a] - 1) + 1);
  const endPads = spatial.map((a, i) => Math.max(0, reach[i] - x.shape[a] - pads[i]));
  const xt = g.transpose(x, [1, 0, 2, 3]);
  const xp = [...pads.slice(0, 2), ...endPads].some((v) => v !== 0) ? g.pad(xt, [0, 0, pads[0], pads[1], 0, 0, endPads[0], endPads[1]]) : xt;
  const z = g.conv(xp, g.transpose(dy, [1, 0, 2, 3]), undefined, { strides: [...dilations], dilations: [...strides] }); // [C, O, ≥kh, ≥kw]
  const cut = z.shape.slice(2).some((d, i) => d !== kernel[i]) ? g.slice(z, [0, 0], [...kernel], spatial) : z;
  return g.transpose(cut, [1, 0, 2, 3]);
}
