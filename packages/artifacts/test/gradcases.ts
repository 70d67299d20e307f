// Small networks that together exercise every differentiable op and loss, in both
// lowerings. tools/gradcheck replays each in torch (float64) and commits the reference
// gradients as test/fixtures/gradcheck.json; gradcheck.test.ts compares against them.

import { type GraphBuilder, type ModelDefinition, type Value, attr, l1Loss, mseLoss, sigmoidFocalLoss, smoothL1Loss, softLabelCrossEntropy, spatialSoftmaxCrossEntropy } from '@omnidistill/artifacts';
import { randn, rng } from './helpers.js';

export interface FeedData {
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}

export interface GradCase {
  readonly name: string;
  /** The ops this case is there to check (documentation + coverage test). */
  readonly covers: readonly string[];
  readonly define: ModelDefinition;
  readonly feeds: Readonly<Record<string, FeedData>>;
}

function f32(dims: readonly number[], seed: number, scale = 1): FeedData {
  return { data: randn(dims.reduce((a, b) => a * b, 1), seed, scale), dims };
}

function i64(values: readonly number[], dims: readonly number[]): FeedData {
  return { data: BigInt64Array.from(values.map((v) => BigInt(v))), dims };
}

/** A parameter with a seeded He-like init. */
function p(g: GraphBuilder, name: string, shape: number[], seed: number, scale?: number, trainable = true): Value {
  const n = shape.reduce((a, b) => a * b, 1);
  const fanIn = shape.length > 1 ? n / shape[0] : 1;
  return g.param(name, shape, randn(n, seed, scale ?? Math.sqrt(2 / fanIn)), { trainable });
}

function ones(n: number): Float32Array {
  return new Float32Array(n).fill(1);
}

function target(g: GraphBuilder, like: Value): Value {
  return g.input('target', 'float32', like.shape);
}

export const GRAD_CASES: readonly GradCase[] = [
  {
    name: 'conv_wide_channels',
    covers: ['Conv', 'mseLoss'],
    define: (g) => {
      // 32 input channels at stride 1: the weight gradient is one MatMul per kernel tap over the
      // whole batch (channel-major X); dilated, non-square kernel, asymmetric pads.
      const x = g.input('x', 'float32', [2, 32, 5, 4]);
      const a = g.conv(x, p(g, 'a.w', [4, 32, 3, 3], 70), p(g, 'a.b', [4], 71, 0.1), { dilations: [2, 2], pads: [2, 2, 2, 2] });
      const b = g.conv(x, p(g, 'b.w', [4, 32, 2, 3], 72), undefined, { pads: [0, 1, 1, 1] });
      const y = g.add(a, b);
      if (g.phase === 'eval') return { outputs: { y } };
      return { loss: mseLoss(g, y, target(g, y)), outputs: { y } };
    },
    feeds: { x: f32([2, 32, 5, 4], 73), target: f32([2, 4, 5, 4], 74, 0.5) },
  },
  {
    name: 'conv_strided_padded_dilated',
    covers: ['Conv', 'Relu', 'Sigmoid', 'mseLoss'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 3, 9, 8]);
      // Stride 1, non-square kernel, asymmetric pads (flipped-kernel dX, per-tap MatMul dW).
      const h0 = g.conv(x, p(g, 'c0.w', [3, 3, 2, 3], 6), undefined, { pads: [0, 1, 1, 1] });
      let h = g.conv(g.add(h0, x), p(g, 'c1.w', [4, 3, 3, 3], 1), p(g, 'c1.b', [4], 2, 0.1), { strides: [2, 2], pads: [1, 1, 1, 1] });
      h = g.relu(h);
      h = g.conv(h, p(g, 'c2.w', [5, 4, 3, 3], 3), p(g, 'c2.b', [5], 4, 0.1), { dilations: [2, 2], pads: [2, 2, 2, 2] });
      h = g.relu(h);
      // Asymmetric pads and a stride that does not divide the input evenly.
      h = g.conv(h, p(g, 'c3.w', [3, 5, 2, 3], 5), undefined, { strides: [2, 2], pads: [0, 1, 1, 0] });
      const y = g.sigmoid(h);
      if (g.phase === 'eval') return { outputs: { y } };
      return { loss: mseLoss(g, y, target(g, y)), outputs: { y } };
    },
    feeds: { x: f32([2, 3, 9, 8], 10), target: f32([2, 3, 3, 2], 11, 0.5) },
  },
  {
    name: 'grouped_depthwise_conv',
    covers: ['Conv'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 4, 7, 6]);
      let h = g.conv(x, p(g, 'dw.w', [4, 1, 3, 3], 100), p(g, 'dw.b', [4], 101, 0.1), { pads: [1, 1, 1, 1], group: 4 }); // depthwise
      h = g.relu(h);
      h = g.conv(h, p(g, 'gc.w', [6, 2, 3, 3], 102), undefined, { strides: [2, 2], pads: [1, 0, 1, 1], group: 2 }); // grouped, strided
      if (g.phase === 'eval') return { outputs: { y: h } };
      return { loss: mseLoss(g, h, target(g, h)) };
    },
    feeds: { x: f32([2, 4, 7, 6], 103), target: f32([2, 6, 4, 3], 104) },
  },
  {
    name: 'conv_transpose',
    covers: ['ConvTranspose', 'Conv', 'l1Loss'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 2, 5, 4]);
      let h = g.relu(g.conv(x, p(g, 'c.w', [3, 2, 3, 3], 20), p(g, 'c.b', [3], 21, 0.1), { pads: [1, 1, 1, 1] }));
      h = g.convTranspose(h, p(g, 'up.w', [3, 4, 3, 3], 22), p(g, 'up.b', [4], 23, 0.1), {
        strides: [2, 2],
        pads: [1, 1, 1, 1],
        outputPadding: [1, 0],
      });
      h = g.convTranspose(h, p(g, 'up2.w', [4, 2, 2, 2], 24), undefined, { strides: [1, 1], dilations: [2, 2] });
      if (g.phase === 'eval') return { outputs: { y: h } };
      return { loss: l1Loss(g, h, target(g, h)) };
    },
    feeds: { x: f32([2, 2, 5, 4], 25), target: f32([2, 2, 12, 9], 26) },
  },
  {
    name: 'pool_and_resize',
    covers: ['MaxPool', 'Resize', 'smoothL1Loss'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 2, 8, 10]);
      let h = g.conv(x, p(g, 'c.w', [3, 2, 3, 3], 30), p(g, 'c.b', [3], 31, 0.1), { pads: [1, 1, 1, 1] });
      h = g.maxPool(h, { kernel: [2, 2] }); // [2,3,4,5]
      h = g.maxPool(h, { kernel: [3, 3], strides: [1, 2], pads: [1, 1, 1, 1] }); // [2,3,4,3]
      const near = g.resize(h, { mode: 'nearest', scales: [2, 2] }); // [2,3,8,6]
      const bil = g.resize(h, { mode: 'linear', sizes: [8, 6] });
      let y = g.conv(g.add(near, bil), p(g, 'c2.w', [2, 3, 1, 1], 32), undefined);
      y = g.resize(y, { mode: 'linear', sizes: [11, 7] }); // non-integer factors
      y = g.resize(y, { mode: 'nearest', sizes: [5, 9] }); // non-integer nearest
      if (g.phase === 'eval') return { outputs: { y } };
      return { loss: smoothL1Loss(g, y, target(g, y), 0.5) };
    },
    feeds: { x: f32([2, 2, 8, 10], 33), target: f32([2, 2, 5, 9], 34, 0.7) },
  },
  {
    // AveragePool as torch exports AvgPool2d: padded, with and without the padding in the count.
    name: 'average_pool',
    covers: ['AveragePool'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 2, 9, 8]);
      const h = g.conv(x, p(g, 'c.w', [3, 2, 3, 3], 35), p(g, 'c.b', [3], 36, 0.1), { pads: [1, 1, 1, 1] });
      const pool = (v: Value, kernel: number[], strides: number[], pads: number[], includePad: number) =>
        g.node('AveragePool', [v], [{ dtype: 'float32', shape: [v.shape[0], v.shape[1], ...kernel.map((k, i) => Math.floor((v.shape[2 + i] + 2 * pads[i] - k) / strides[i]) + 1)] }], {
          kernel_shape: attr.ints(kernel),
          strides: attr.ints(strides),
          pads: attr.ints([...pads, ...pads]),
          count_include_pad: attr.int(includePad),
        })[0];
      const a = pool(h, [3, 3], [2, 2], [1, 1], 0); // [2,3,5,4]
      const b = pool(h, [3, 2], [2, 2], [1, 1], 1); // [2,3,5,5]
      const y = g.add(g.slice(a, [0], [4], [2]), pool(b, [2, 2], [1, 1], [0, 0], 0)); // [2,3,4,4]
      if (g.phase === 'eval') return { outputs: { y } };
      return { loss: mseLoss(g, y, target(g, y)) };
    },
    feeds: { x: f32([2, 2, 9, 8], 37), target: f32([2, 3, 4, 4], 38) },
  },
  {
    // SimCC's loss: soft-label cross-entropy per (N, K) row, weighted, over 1-D logits from a MatMul head.
    name: 'soft_label_ce_simcc',
    covers: ['softLabelCrossEntropy', 'LogSoftmax', 'MatMul'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 3, 5]);
      const logits = g.matMul(x, p(g, 'head.w', [5, 7], 39));
      if (g.phase === 'eval') return { outputs: { logits } };
      const t = g.input('t', 'float32', [2, 3, 7]);
      const w = g.input('w', 'float32', [2, 3]);
      return { loss: softLabelCrossEntropy(g, logits, t, w) };
    },
    feeds: {
      x: f32([2, 3, 5], 40),
      t: { data: Float32Array.from({ length: 42 }, (_, i) => ((i * 7) % 5) / 14), dims: [2, 3, 7] },
      w: { data: Float32Array.of(1, 0, 1, 1, 1, 0), dims: [2, 3] },
    },
  },
  {
    // GELU as torch exports it (opset < 20): x · 0.5 · (1 + erf(x / √2)).
    name: 'erf_gelu',
    covers: ['Erf'],
    define: (g) => {
      const x = g.input('x', 'float32', [3, 6]);
      const h = g.matMul(x, p(g, 'fc.w', [6, 5], 41));
      const erf = g.node('Erf', [g.mul(h, Math.SQRT1_2)], [{ dtype: 'float32', shape: h.shape }])[0];
      const y = g.mul(g.mul(h, 0.5), g.add(erf, 1));
      if (g.phase === 'eval') return { outputs: { y } };
      return { loss: mseLoss(g, y, target(g, y)) };
    },
    feeds: { x: f32([3, 6], 42), target: f32([3, 5], 43) },
  },
  {
    name: 'batch_norm',
    covers: ['BatchNormalization'],
    define: (g) => {
      const x = g.input('x', 'float32', [3, 2, 5, 5]);
      let h = g.conv(x, p(g, 'c1.w', [4, 2, 3, 3], 40), undefined, { pads: [1, 1, 1, 1] });
      h = g.batchNorm(h, g.param('bn1.scale', [4], randn(4, 41, 0.3).map((v) => 1 + v)), p(g, 'bn1.bias', [4], 42, 0.2), g.param('bn1.mean', [4], new Float32Array(4), { trainable: false }), g.param('bn1.var', [4], ones(4), { trainable: false }));
      h = g.relu(h);
      h = g.conv(h, p(g, 'c2.w', [3, 4, 3, 3], 43), undefined, { strides: [2, 2] });
      h = g.batchNorm(h, g.param('bn2.scale', [3], ones(3)), g.param('bn2.bias', [3], new Float32Array(3)), g.param('bn2.mean', [3], new Float32Array(3), { trainable: false }), g.param('bn2.var', [3], ones(3), { trainable: false }), { epsilon: 1e-3 });
      if (g.phase === 'eval') return { outputs: { y: h } };
      const w = g.input('w', 'float32', h.shape);
      return { loss: g.reduceSum(g.mul(h, w), [0, 1, 2, 3]) };
    },
    feeds: { x: f32([3, 2, 5, 5], 44), w: f32([3, 3, 2, 2], 45) },
  },
  {
    name: 'shape_ops_pixel_shuffle',
    covers: ['Reshape', 'Transpose', 'Concat', 'Slice', 'DepthToSpace', 'SpaceToDepth', 'ReduceSum', 'ReduceMean', 'Pad', 'Expand'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 3, 4, 4]);
      const a = g.conv(x, p(g, 'a.w', [8, 3, 3, 3], 50), p(g, 'a.b', [8], 51, 0.1), { pads: [1, 1, 1, 1] });
      const b = g.conv(x, p(g, 'b.w', [4, 3, 1, 1], 52), undefined);
      const cat = g.concat([a, b], 1); // [2,12,4,4]
      const crd = g.depthToSpace(g.slice(cat, [0], [8], [1]), 2, 'CRD'); // [2,2,8,8]
      const dcr = g.depthToSpace(g.slice(cat, [4], [12], [1]), 2, 'DCR'); // [2,2,8,8]
      let h = g.mul(crd, dcr);
      h = g.spaceToDepth(h, 2); // [2,8,4,4]
      h = g.transpose(g.reshape(h, [2, 8, 16]), [0, 2, 1]); // [2,16,8]
      h = g.slice(h, [1, -7], [15, 100], [1, 2]); // [2,14,7]
      h = g.pad(h, [0, 1, 0, 0, 2, 1]); // [2,17,8]
      const s = g.reduceSum(h, [1], true); // [2,1,8]
      const m = g.reduceMean(h, [2]); // [2,17]
      const e = g.expand(g.reshape(p(g, 'e', [8], 53, 0.5), [1, 1, 8]), [2, 3, 8]);
      const y0 = g.concat([g.add(s, e), g.reshape(g.slice(m, [0], [16], [1]), [2, 2, 8])], 1); // [2,5,8]
      // Strided and reversed slices: [2,5,8] → [2,3,8] (step 2) → [2,3,4] (step −2 from the end).
      const y = g.slice(g.slice(y0, [0], [5], [1], [2]), [-1, 0], [-100, 1000], [2, 0], [-2, 1]);
      if (g.phase === 'eval') return { outputs: { y } };
      return { loss: mseLoss(g, y, target(g, y)) };
    },
    feeds: { x: f32([2, 3, 4, 4], 54), target: f32([2, 3, 4], 55) },
  },
  {
    name: 'roi_gather_keypoint_loss',
    covers: ['Gather', 'GatherElements', 'LogSoftmax', 'spatialSoftmaxCrossEntropy'],
    define: (g) => {
      // RoIAlign written with gathers: 2 RoIs × 4×4 samples, each a bilinear mix of 4 taps.
      const x = g.input('image', 'float32', [1, 2, 6, 6]);
      const feat = g.relu(g.conv(x, p(g, 'f.w', [3, 2, 3, 3], 60), p(g, 'f.b', [3], 61, 0.1), { pads: [1, 1, 1, 1] }));
      const flat = g.reshape(feat, [3, 36]);
      let sampled: Value | undefined;
      for (let t = 0; t < 4; t++) {
        const idx = g.input(`tap${t}.index`, 'int64', [2, 16]);
        const w = g.input(`tap${t}.weight`, 'float32', [2, 16]);
        const term = g.mul(g.gather(flat, idx, 1), w); // [3,2,16]
        sampled = sampled ? g.add(sampled, term) : term;
      }
      const roi = g.transpose(g.reshape(sampled!, [3, 2, 4, 4]), [1, 0, 2, 3]); // [2,3,4,4]
      const logits = g.conv(roi, p(g, 'k.w', [5, 3, 3, 3], 62), p(g, 'k.b', [5], 63, 0.1), { pads: [1, 1, 1, 1] });
      if (g.phase === 'eval') return { outputs: { heatmaps: logits } };
      const tgt = g.input('kp.target', 'int64', [2, 5]);
      const wt = g.input('kp.weight', 'float32', [2, 5]);
      return { loss: spatialSoftmaxCrossEntropy(g, logits, tgt, wt), outputs: { heatmaps: logits } };
    },
    feeds: (() => {
      const r = rng(64);
      const feeds: Record<string, FeedData> = {};
      for (let t = 0; t < 4; t++) {
        feeds[`tap${t}.index`] = i64(Array.from({ length: 32 }, () => Math.floor(r() * 36)), [2, 16]);
        feeds[`tap${t}.weight`] = { data: Float32Array.from({ length: 32 }, () => r() / 2), dims: [2, 16] };
      }
      feeds.image = f32([1, 2, 6, 6], 65);
      feeds['kp.target'] = i64([0, 5, 15, 7, 9, 3, 3, 12, 0, 14], [2, 5]);
      feeds['kp.weight'] = { data: Float32Array.of(1, 1, 0, 1, 1, 1, 0, 1, 1, 0), dims: [2, 5] };
      return feeds;
    })(),
  },
  {
    name: 'gather_paths',
    covers: ['Gather'],
    define: (g) => {
      // Axis 0 from a few rows (one-hot MatMul gradient) and axis 1 from many (scatter-add).
      const x = g.input('x', 'float32', [4, 2, 9, 9]);
      const f = g.conv(x, p(g, 'c.w', [3, 2, 3, 3], 90), p(g, 'c.b', [3], 91, 0.1), { pads: [1, 1, 1, 1] });
      const picked = g.gather(f, g.input('rows', 'int64', [6]), 0); // [6,3,9,9]
      const wide = g.gather(g.reshape(picked, [6, 243]), g.input('cols', 'int64', [2, 5]), 1); // [6,2,5]
      const y = g.reshape(wide, [6, 10]);
      if (g.phase === 'eval') return { outputs: { y } };
      return { loss: mseLoss(g, y, target(g, y)) };
    },
    feeds: { x: f32([4, 2, 9, 9], 92), rows: i64([3, 0, 3, -1, 2, 1], [6]), cols: i64([0, 242, 17, 17, 100, 5, 6, 7, 200, 1], [2, 5]), target: f32([6, 10], 93) },
  },
  {
    name: 'elementwise_broadcast',
    covers: ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Exp', 'Log', 'Sqrt', 'Abs', 'Tanh', 'Neg', 'Reciprocal', 'Max', 'Min', 'Where', 'MatMul', 'Softmax', 'Identity'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 3, 4]);
      const a = p(g, 'a', [3, 1], 70, 0.5);
      const b = p(g, 'b', [4], 71, 0.5);
      const c = p(g, 'c', [1, 3, 4], 72, 0.5);
      let h = g.add(g.mul(x, a), b); // [2,3,4]
      h = g.sub(h, g.div(c, g.add(g.mul(a, a), 1)));
      const pos = g.add(g.abs(h), 0.5);
      h = g.add(g.sqrt(pos), g.log(pos));
      h = g.add(h, g.pow(g.tanh(h), 3));
      h = g.add(g.exp(g.mul(h, 0.3)), g.neg(g.reciprocal(g.add(g.mul(h, h), 1))));
      h = g.max(h, g.min(g.mul(h, 0.7), c));
      h = g.where(g.greater(x, 0.5), h, g.mul(h, a));
      const m = g.matMul(h, p(g, 'm', [4, 5], 73, 0.4)); // [2,3,5]
      const sm = g.softmax(g.identity(m), -1);
      const y = g.mul(sm, g.reshape(p(g, 'd', [3], 74), [1, 3, 1]));
      if (g.phase === 'eval') return { outputs: { y } };
      return { loss: mseLoss(g, y, target(g, y)) };
    },
    feeds: { x: f32([2, 3, 4], 75), target: f32([2, 3, 5], 76, 0.3) },
  },
  {
    name: 'focal_loss_detector_head',
    covers: ['sigmoidFocalLoss', 'Sigmoid', 'Relu', 'Log', 'Exp', 'Abs', 'Pow'],
    define: (g) => {
      const x = g.input('x', 'float32', [2, 3, 6, 6]);
      const h = g.relu(g.conv(x, p(g, 'h.w', [4, 3, 3, 3], 80), p(g, 'h.b', [4], 81, 0.1), { pads: [1, 1, 1, 1] }));
      const heat = g.conv(h, p(g, 'cls.w', [2, 4, 1, 1], 82), g.param('cls.b', [2], Float32Array.of(-2, -1)));
      const size = g.conv(h, p(g, 'reg.w', [2, 4, 1, 1], 83), undefined);
      if (g.phase === 'eval') return { outputs: { heat, size } };
      const t = g.input('heat.target', 'float32', heat.shape);
      const npos = g.input('num_pos', 'float32', []);
      const st = g.input('size.target', 'float32', size.shape);
      const focal = sigmoidFocalLoss(g, heat, t, { normalizer: npos });
      const focalMean = sigmoidFocalLoss(g, heat, t, { alpha: -1, gamma: 1.5 });
      const reg = smoothL1Loss(g, size, st);
      return { loss: g.add(g.add(focal, focalMean), reg) };
    },
    feeds: (() => {
      const r = rng(84);
      return {
        x: f32([2, 3, 6, 6], 85),
        'heat.target': { data: Float32Array.from({ length: 144 }, () => (r() < 0.1 ? 1 : 0)), dims: [2, 2, 6, 6] },
        num_pos: { data: Float32Array.of(7), dims: [] },
        'size.target': f32([2, 2, 6, 6], 86),
      };
    })(),
  },
];
