// Reverse-mode automatic differentiation over a GraphBuilder's nodes. Gradient nodes are
// appended to the same builder, so they get static shapes too. Each op has one gradient
// rule with two lowerings: ONNX Runtime's com.microsoft gradient kernels ('ort', where the
// training wasm has them) and standard ONNX ops ('standard', runs anywhere).

import { OmniRangeError } from '@omnidistill/core';
import { type GraphBuilder, type Lowering, type Value, attr } from './graph.js';
import type { AttributeValue, NodeDef } from './onnx.js';
import { convWeightGradConv } from './conv-weight-conv.js';
import { fmtShape, numel, resolveSlice, shapeEquals } from './shapes.js';

/** What a gradient rule sees of one forward node. */
interface GradContext {
  readonly g: GraphBuilder;
  readonly node: NodeDef;
  readonly lowering: Lowering;
  /** Forward inputs / outputs as values (undefined for omitted optional ones). */
  readonly x: (Value | undefined)[];
  readonly y: (Value | undefined)[];
  /** Upstream gradients per output (undefined = zero). */
  readonly dy: (Value | undefined)[];
  /** Which inputs need a gradient. */
  readonly need: boolean[];
  readonly options: Required<GradientOptions>;
}

/** Choices of the standard lowering (defaults are the measured-fastest forms). */
export interface GradientOptions {
  /**
   * Largest im2col buffer, in elements, that a convolution's weight gradient may materialise
   * (default {@link IM2COL_MAX_ELEMENTS}); above it the per-tap form runs. 0 forces per-tap.
   */
  readonly im2colMaxElements?: number;
  /**
   * Weight-gradient form of 2-D group-1 convolutions: 'classic' (per-tap MatMuls for stride 1
   * with ≥ 32 input channels, im2col otherwise) or 'conv' (kernels larger than 1 × 1: a
   * convolution of Xᵀ by dYᵀ, {@link convWeightGradConv}). Both give the same gradients;
   * 'conv' is the faster one where the step's convolutions run as ORT NCHWc Convs
   * (`nchwcConvolutions`), 'classic' elsewhere (ORT's generic Conv runs it ~25 % slower).
   */
  readonly convWeightGradient?: ConvWeightGradient;
}

/** See {@link GradientOptions.convWeightGradient}. */
export type ConvWeightGradient = 'classic' | 'conv';
/** Default of {@link GradientOptions.convWeightGradient}. */
export const DEFAULT_CONV_WEIGHT_GRADIENT: ConvWeightGradient = 'classic';

type GradRule = (c: GradContext) => (Value | undefined)[];

function ints(node: NodeDef, name: string, fallback: readonly number[] = []): number[] {
  const a = node.attributes[name];
  return a && a.type === 'ints' ? [...a.value] : [...fallback];
}
function int(node: NodeDef, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && a.type === 'int' ? a.value : fallback;
}
function str(node: NodeDef, name: string, fallback: string): string {
  const a = node.attributes[name];
  return a && a.type === 'string' ? a.value : fallback;
}
function float(node: NodeDef, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && a.type === 'float' ? a.value : fallback;
}

/** Integer contents of a constant input (axes, shapes, slice bounds). */
function constInts(g: GraphBuilder, v: Value | undefined, what: string): number[] {
  const t = v ? g.constantData(v.name) : undefined;
  if (!t) throw new OmniRangeError(`autodiff: ${what}`, 'a constant made by the builder', v?.name);
  return Array.from(t.data as ArrayLike<number | bigint>, (e) => Number(e));
}

/** Sums `dy` down to `shape` (the inverse of numpy broadcasting). */
export function unbroadcast(g: GraphBuilder, dy: Value, shape: readonly number[]): Value {
  if (shapeEquals(dy.shape, shape)) return dy;
  const lead = dy.shape.length - shape.length;
  const axes: number[] = [];
  dy.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length > 0 ? g.reduceSum(dy, axes, true) : dy;
  return shapeEquals(summed.shape, shape) ? summed : g.reshape(summed, shape);
}

const zeroLike = (g: GraphBuilder, v: Value): Value => g.zeros(v.shape);

/** Gather gradients use a one-hot MatMul instead of a scatter-add below these sizes. */
const ONE_HOT_MAX_ROWS = 256;
const ONE_HOT_MAX_ELEMENTS = 1 << 20;

// ------------------------------------------------------------------ elementwise

const rules: Record<string, GradRule> = {
  Identity: ({ dy }) => [dy[0]],
  Add: ({ g, x, dy, need }) => [need[0] ? unbroadcast(g, dy[0]!, x[0]!.shape) : undefined, need[1] ? unbroadcast(g, dy[0]!, x[1]!.shape) : undefined],
  Sub: ({ g, x, dy, need }) => [
    need[0] ? unbroadcast(g, dy[0]!, x[0]!.shape) : undefined,
    need[1] ? unbroadcast(g, g.neg(dy[0]!), x[1]!.shape) : undefined,
  ],
  Mul: ({ g, x, dy, need }) => [
    need[0] ? unbroadcast(g, g.mul(dy[0]!, x[1]!), x[0]!.shape) : undefined,
    need[1] ? unbroadcast(g, g.mul(dy[0]!, x[0]!), x[1]!.shape) : undefined,
  ],
  Div: ({ g, x, y, dy, need }) => [
    need[0] ? unbroadcast(g, g.div(dy[0]!, x[1]!), x[0]!.shape) : undefined,
    need[1] ? unbroadcast(g, g.neg(g.div(g.mul(dy[0]!, y[0]!), x[1]!)), x[1]!.shape) : undefined,
  ],
  Pow: ({ g, x, dy, need }) => {
    if (need[1]) throw new OmniRangeError('autodiff: Pow exponent', 'a constant (no gradient)', x[1]!.name);
    const dA = g.mul(g.mul(dy[0]!, x[1]!), g.pow(x[0]!, g.sub(x[1]!, 1)));
    return [unbroadcast(g, dA, x[0]!.shape), undefined];
  },
  Max: ({ g, x, dy, need }) => {
    const mask = g.greaterOrEqual(x[0]!, x[1]!);
    return [
      need[0] ? unbroadcast(g, g.where(mask, dy[0]!, 0), x[0]!.shape) : undefined,
      need[1] ? unbroadcast(g, g.where(mask, 0, dy[0]!), x[1]!.shape) : undefined,
    ];
  },
  Min: ({ g, x, dy, need }) => {
    const mask = g.greaterOrEqual(x[1]!, x[0]!);
    return [
      need[0] ? unbroadcast(g, g.where(mask, dy[0]!, 0), x[0]!.shape) : undefined,
      need[1] ? unbroadcast(g, g.where(mask, 0, dy[0]!), x[1]!.shape) : undefined,
    ];
  },
  Where: ({ g, x, dy, need }) => [
    undefined,
    need[1] ? unbroadcast(g, g.where(x[0]!, dy[0]!, 0), x[1]!.shape) : undefined,
    need[2] ? unbroadcast(g, g.where(x[0]!, 0, dy[0]!), x[2]!.shape) : undefined,
  ],
  Neg: ({ g, dy }) => [g.neg(dy[0]!)],
  // d erf(x)/dx = 2/√π · e^(−x²) (GELU's exact form in torch exports).
  Erf: ({ g, x, dy }) => [g.mul(dy[0]!, g.mul(g.exp(g.neg(g.mul(x[0]!, x[0]!))), 2 / Math.sqrt(Math.PI)))],
  Exp: ({ g, y, dy }) => [g.mul(dy[0]!, y[0]!)],
  Log: ({ g, x, dy }) => [g.div(dy[0]!, x[0]!)],
  Abs: ({ g, x, dy }) => [g.mul(dy[0]!, g.sign(x[0]!))],
  Sqrt: ({ g, y, dy }) => [g.div(g.mul(dy[0]!, 0.5), y[0]!)],
  Reciprocal: ({ g, y, dy }) => [g.neg(g.mul(dy[0]!, g.mul(y[0]!, y[0]!)))],
  Relu: ({ g, y, dy, lowering }) =>
    lowering === 'ort'
      ? [g.node('ReluGrad', [dy[0]!, y[0]!], [{ dtype: 'float32', shape: y[0]!.shape }], {}, 'com.microsoft')[0]]
      : // The 0/1 mask as Cast(y > 0): ORT CPU's Sign is a branchy scalar loop (1.5 ms on a
        // [16, 24, 48, 48] activation in the reference model's step), Greater + Cast are not;
        // a broadcasting Where was ~3× slower than either.
        [g.mul(dy[0]!, g.cast(g.greater(y[0]!, 0), 'float32'))],
  Sigmoid: ({ g, y, dy, lowering }) =>
    lowering === 'ort'
      ? [g.node('SigmoidGrad', [dy[0]!, y[0]!], [{ dtype: 'float32', shape: y[0]!.shape }], {}, 'com.microsoft')[0]]
      : [g.mul(g.mul(dy[0]!, y[0]!), g.sub(g.scalar(1), y[0]!))],
  Tanh: ({ g, y, dy, lowering }) =>
    lowering === 'ort'
      ? [g.node('TanhGrad', [dy[0]!, y[0]!], [{ dtype: 'float32', shape: y[0]!.shape }], {}, 'com.microsoft')[0]]
      : [g.mul(dy[0]!, g.sub(g.scalar(1), g.mul(y[0]!, y[0]!)))],
  Cast: ({ x, y, dy }) => {
    if (x[0]!.dtype !== 'float32' || y[0]!.dtype !== 'float32') return [undefined];
    return [dy[0]];
  },
  MatMul: ({ g, x, dy, need }) => {
    const swapLast = (v: Value): Value => {
      const r = v.shape.length;
      return g.transpose(v, [...v.shape.slice(0, -2).map((_, i) => i), r - 1, r - 2]);
    };
    return [
      need[0] ? unbroadcast(g, g.matMul(dy[0]!, swapLast(x[1]!)), x[0]!.shape) : undefined,
      need[1] ? unbroadcast(g, g.matMul(swapLast(x[0]!), dy[0]!), x[1]!.shape) : undefined,
    ];
  },
  Expand: ({ g, x, dy }) => [unbroadcast(g, dy[0]!, x[0]!.shape), undefined],

  // ---------------------------------------------------------------- convolution
  Conv: (c) => (c.lowering === 'ort' ? convGradOrt(c) : convGradStandard(c)),
  ConvTranspose: (c) => convTransposeGrad(c),

  // ---------------------------------------------------------------- pooling / resize
  MaxPool: ({ g, node, x, y, dy, lowering }) => {
    const indices = y[1];
    if (!indices) throw new OmniRangeError('autodiff: MaxPool', 'a node built in the train phase (with indices)', node.name);
    const xs = x[0]!;
    if (lowering === 'ort') {
      const attrs: Record<string, AttributeValue> = { ...node.attributes };
      // MaxPoolGrad is registered in the default ONNX domain (opset 9+), not com.microsoft.
      return [g.node('MaxPoolGrad', [dy[0]!, indices], [{ dtype: 'float32', shape: xs.shape }], attrs, '')[0]];
    }
    // Flat argmax indices (over the whole N·C·H·W tensor) → scatter-add into zeros.
    const flat = g.scatterElements(g.zeros([numel(xs.shape)]), g.reshape(indices, [-1]), g.reshape(dy[0]!, [-1]), 0, 'add');
    return [g.reshape(flat, xs.shape)];
  },
  Resize: ({ g, x, y, dy, node }) => [resizeGrad(g, x[0]!, y[0]!, dy[0]!, str(node, 'mode', 'nearest'))],
  AveragePool: ({ g, node, x, dy }) => [averagePoolGrad(g, node, x[0]!, dy[0]!)],

  // ---------------------------------------------------------------- normalisation
  BatchNormInternal: ({ g, node, x, y, dy, need }) => {
    const [dX, dScale, dBias] = g.node(
      'BatchNormalizationGrad',
      [dy[0]!, x[0]!, x[1]!, y[3]!, y[4]!],
      [
        { dtype: 'float32', shape: x[0]!.shape },
        { dtype: 'float32', shape: x[1]!.shape },
        { dtype: 'float32', shape: x[2]!.shape },
      ],
      { epsilon: attr.float(float(node, 'epsilon', 1e-5)) },
      'com.microsoft',
    );
    return [need[0] ? dX : undefined, dScale, dBias, undefined, undefined];
  },

  // ---------------------------------------------------------------- shape ops
  Reshape: ({ g, x, dy }) => [g.reshape(dy[0]!, x[0]!.shape), undefined],
  Transpose: ({ g, node, dy }) => {
    const perm = ints(node, 'perm');
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [g.transpose(dy[0]!, inv)];
  },
  Concat: ({ g, node, x, dy, need }) => {
    const axis = int(node, 'axis', 0);
    let offset = 0;
    return x.map((xi, i) => {
      const start = offset;
      offset += xi!.shape[axis];
      return need[i] ? g.slice(dy[0]!, [start], [start + xi!.shape[axis]], [axis]) : undefined;
    });
  },
  Slice: ({ g, x, dy, lowering }) => {
    const xs = x[0]!;
    const starts = constInts(g, x[1], 'Slice starts');
    const ends = constInts(g, x[2], 'Slice ends');
    const axes = constInts(g, x[3], 'Slice axes');
    const steps = constInts(g, x[4], 'Slice steps');
    // ORT's SliceGrad failed at run time in the 1.19.2 wasm for strided/reversed slices
    // (measured), so it is used for unit steps only.
    if (lowering === 'ort' && steps.every((st) => st === 1)) {
      const dX = g.node(
        'SliceGrad',
        [dy[0]!, g.int64s(xs.shape), x[1], x[2], x[3], x[4]],
        [{ dtype: 'float32', shape: xs.shape }],
        {},
        'com.microsoft',
      )[0];
      return [dX, undefined, undefined, undefined, undefined];
    }
    // Unit-step axes: zero-pad dY back to full length. Other steps (strided, reversed):
    // a selection-matrix MatMul along that axis, dX = dY · S with S[k, start + k·step] = 1.
    const r = xs.shape.length;
    const pads = new Array<number>(2 * r).fill(0);
    let d = dy[0]!;
    const strided: { axis: number; start: number; step: number }[] = [];
    axes.forEach((a0, i) => {
      const a = a0 < 0 ? a0 + r : a0;
      const sl = resolveSlice(xs.shape[a], starts[i], ends[i], steps[i]);
      if (steps[i] === 1) {
        pads[a] = sl.start;
        pads[r + a] = xs.shape[a] - sl.start - d.shape[a];
      } else {
        strided.push({ axis: a, start: sl.start, step: sl.step });
      }
    });
    if (pads.some((v) => v !== 0)) d = g.pad(d, pads);
    for (const { axis, start, step } of strided) {
      const len = d.shape[axis];
      const dim = xs.shape[axis];
      const sel = new Float32Array(len * dim);
      for (let k = 0; k < len; k++) sel[k * dim + start + k * step] = 1;
      const perm = d.shape.map((_, i) => i);
      [perm[axis], perm[r - 1]] = [perm[r - 1], perm[axis]];
      const last = axis === r - 1;
      const moved = last ? d : g.transpose(d, perm);
      const expanded = g.matMul(moved, g.floats(sel, [len, dim]));
      d = last ? expanded : g.transpose(expanded, perm);
    }
    return [d, undefined, undefined, undefined, undefined];
  },
  Pad: ({ g, x, dy }) => {
    const pads = constInts(g, x[1], 'Pad pads');
    const axes = x[0]!.shape.map((_, i) => i);
    return [g.slice(dy[0]!, axes.map((a) => pads[a]), axes.map((a) => pads[a] + x[0]!.shape[a]), axes), undefined];
  },
  Gather: ({ g, node, x, dy, lowering }) => {
    const [data, indices] = [x[0]!, x[1]!];
    const axis = int(node, 'axis', 0);
    if (lowering === 'ort') {
      const dX = g.node('GatherGrad', [g.int64s(data.shape), indices, dy[0]!], [{ dtype: 'float32', shape: data.shape }], { axis: attr.int(axis) }, 'com.microsoft')[0];
      return [dX, undefined];
    }
    const pre = data.shape.slice(0, axis);
    const post = data.shape.slice(axis + 1);
    const n = numel(indices.shape);
    const d = data.shape[axis];
    if (d <= ONE_HOT_MAX_ROWS && d * n <= ONE_HOT_MAX_ELEMENTS) {
      // Few gathered-from rows (e.g. picking each RoI's image): dX = onehot(idx)ᵀ · dY as a
      // MatMul, much faster on CPU than an element-wise scatter-add.
      let idx = g.reshape(indices.dtype === 'int64' ? indices : g.cast(indices, 'int64'), [1, n]);
      idx = g.where(g.less(idx, 0), g.add(idx, d), idx);
      const rows = g.constant(BigInt64Array.from({ length: d }, (_, i) => BigInt(i)), [d, 1], 'int64');
      const oneHot = g.cast(g.equal(rows, idx), 'float32'); // [D, n]
      const dyR = g.reshape(dy[0]!, pre.length > 0 ? [numel(pre), n, numel(post)] : [n, numel(post)]);
      return [g.reshape(g.matMul(oneHot, dyR), data.shape), undefined];
    }
    // Scatter-add dY back along `axis`, with the indices broadcast over the other axes.
    const dy2 = g.reshape(dy[0]!, [...pre, n, ...post]);
    let idx = g.reshape(indices.dtype === 'int64' ? indices : g.cast(indices, 'int64'), [...pre.map(() => 1), n, ...post.map(() => 1)]);
    idx = g.expand(idx, dy2.shape);
    return [g.scatterElements(g.zeros(data.shape), idx, dy2, axis, 'add'), undefined];
  },
  GatherElements: ({ g, node, x, dy }) => [g.scatterElements(g.zeros(x[0]!.shape), x[1]!, dy[0]!, int(node, 'axis', 0), 'add'), undefined],
  ReduceSum: ({ g, node, x, dy }) => [reduceGrad(g, x[0]!, dy[0]!, constInts(g, x[1], 'ReduceSum axes'), int(node, 'keepdims', 1) === 1, 1), undefined],
  ReduceMean: ({ g, node, x, dy }) => {
    const axes = ints(node, 'axes');
    const count = axes.reduce((a, ax) => a * x[0]!.shape[ax], 1);
    return [reduceGrad(g, x[0]!, dy[0]!, axes, int(node, 'keepdims', 1) === 1, 1 / count)];
  },
  DepthToSpace: ({ g, node, x, dy }) => {
    const b = int(node, 'blocksize', 1);
    if (str(node, 'mode', 'DCR') === 'DCR') return [g.spaceToDepth(dy[0]!, b)];
    // CRD inverse = SpaceToDepth (DCR channel order (i·b + j)·C + c) followed by a channel
    // permutation to c·b² + i·b + j; the permutation moves whole H×W planes, which is far
    // cheaper than a 6-D transpose with b-sized inner runs.
    const [n, c, h, w] = x[0]!.shape;
    const oc = c / (b * b);
    const s2d = g.spaceToDepth(dy[0]!, b); // [n, b²·oc, h, w]
    const t = g.transpose(g.reshape(s2d, [n, b * b, oc, h * w]), [0, 2, 1, 3]);
    return [g.reshape(t, [n, c, h, w])];
  },
  SpaceToDepth: ({ g, node, dy }) => [g.depthToSpace(dy[0]!, int(node, 'blocksize', 1), 'DCR')],
  Softmax: ({ g, node, y, dy, lowering }) => {
    const axis = int(node, 'axis', -1);
    if (lowering === 'ort') {
      return [g.node('SoftmaxGrad_13', [dy[0]!, y[0]!], [{ dtype: 'float32', shape: y[0]!.shape }], { axis: attr.int(axis) }, 'com.microsoft')[0]];
    }
    const inner = g.reduceSum(g.mul(dy[0]!, y[0]!), [axis], true);
    return [g.mul(y[0]!, g.sub(dy[0]!, inner))];
  },
  LogSoftmax: ({ g, node, y, dy, lowering }) => {
    const axis = int(node, 'axis', -1);
    if (lowering === 'ort') {
      return [g.node('LogSoftmaxGrad_13', [dy[0]!, y[0]!], [{ dtype: 'float32', shape: y[0]!.shape }], { axis: attr.int(axis) }, 'com.microsoft')[0]];
    }
    return [g.sub(dy[0]!, g.mul(g.exp(y[0]!), g.reduceSum(dy[0]!, [axis], true)))];
  },
};

/** Ops whose outputs never carry gradients (comparisons, index producers, constants). */
const NON_DIFFERENTIABLE = new Set([
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Equal',
  'Not',
  'And',
  'Or',
  'Sign',
  'Shape',
  'ConstantOfShape',
  'ReduceMax',
  'ArgMax',
  'ScatterElements',
  'Floor',
  'Round',
]);

function reduceGrad(g: GraphBuilder, x: Value, dy: Value, axes: readonly number[], keepdims: boolean, scale: number): Value {
  const r = x.shape.length;
  const norm = axes.map((a) => (a < 0 ? a + r : a));
  const kept = x.shape.map((d, i) => (norm.includes(i) ? 1 : d));
  let d = keepdims ? dy : g.reshape(dy, kept);
  if (scale !== 1) d = g.mul(d, scale);
  return g.expand(d, x.shape);
}

function convAttrs(node: NodeDef, x: Value, w: Value) {
  const nsp = x.shape.length - 2;
  return {
    nsp,
    kernel: w.shape.slice(2),
    strides: ints(node, 'strides', new Array<number>(nsp).fill(1)),
    pads: ints(node, 'pads', new Array<number>(2 * nsp).fill(0)),
    dilations: ints(node, 'dilations', new Array<number>(nsp).fill(1)),
    group: int(node, 'group', 1),
  };
}

function convGradOrt({ g, node, x, dy, need }: GradContext): (Value | undefined)[] {
  const [xs, w, b] = [x[0]!, x[1]!, x[2]];
  const outputs = [
    { dtype: 'float32' as const, shape: xs.shape, ...(need[0] ? {} : { name: '' }) },
    { dtype: 'float32' as const, shape: w.shape, ...(need[1] ? {} : { name: '' }) },
    { dtype: 'float32' as const, shape: [w.shape[0]], ...(b && need[2] ? {} : { name: '' }) },
  ];
  const [dX, dW, dB] = g.node('ConvGrad', [dy[0]!, xs, w], outputs, { ...node.attributes }, 'com.microsoft');
  return [need[0] ? dX : undefined, need[1] ? dW : undefined, b && need[2] ? dB : undefined];
}

/**
 * Weight gradient of a convolution as a convolution: with X and dY transposed to put the
 * batch in the channel slot, dW[o,c,p,q] = Σ X[n,c,i·s+p·d−pad,…]·dY[n,o,i,j] is a conv
 * of Xᵀ by dYᵀ with stride and dilation swapped, sliced to the kernel size.
 */
function convWeightGrad(g: GraphBuilder, input: Value, grad: Value, kernel: readonly number[], strides: number[], pads: number[], dilations: number[]): Value {
  const perm = [1, 0, ...kernel.map((_, i) => i + 2)];
  const z = g.conv(g.transpose(input, perm), g.transpose(grad, perm), undefined, { strides: dilations, dilations: strides, pads });
  const needSlice = z.shape.slice(2).some((d, i) => d !== kernel[i]);
  const cut = needSlice ? g.slice(z, kernel.map(() => 0), [...kernel], kernel.map((_, i) => i + 2)) : z;
  return g.transpose(cut, perm);
}

/**
 * dW of a 2-D convolution as one batched MatMul per kernel tap: the strided, shifted view
 * of the (padded) input under tap (p, q), [N, C, Ho·Wo], times dYᵀ [N, Ho·Wo, O], summed
 * over the batch. Same FLOPs as the forward conv, in well-shaped GEMMs (a conv whose
 * "kernel" is the whole dY map runs far slower in ONNX Runtime's CPU Conv).
 */
function convWeightGradMatMul(
  g: GraphBuilder,
  x: Value,
  dy: Value,
  kernel: readonly number[],
  strides: number[],
  pads: number[],
  dilations: number[],
  group = 1,
): Value {
  const [n, c] = x.shape;
  const [, o, oh, ow] = dy.shape;
  const [kh, kw] = kernel;
  const cg = c / group;
  const og = o / group;
  // Stride 1: contiguous tap windows (a whole training step ~12 % faster, in-process A/B).
  if (strides[0] === 1 && strides[1] === 1) return convWeightGradFlat(g, x, dy, kernel, pads, dilations, group);
  const xp = pads.some((v) => v !== 0) ? g.pad(x, [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]]) : x;
  // dYᵀ per group: [N, G, Ho·Wo, O/G].
  const dyT = g.transpose(g.reshape(dy, [n, group, og, oh * ow]), [0, 1, 3, 2]);
  const taps: Value[] = [];
  for (let p = 0; p < kh; p++) {
    for (let q = 0; q < kw; q++) {
      const y0 = p * dilations[0];
      const x0 = q * dilations[1];
      const whole = y0 === 0 && x0 === 0 && strides[0] === 1 && strides[1] === 1 && oh === xp.shape[2] && ow === xp.shape[3];
      const view = whole ? xp : g.slice(xp, [y0, x0], [y0 + strides[0] * (oh - 1) + 1, x0 + strides[1] * (ow - 1) + 1], [2, 3], [strides[0], strides[1]]);
      const prod = g.matMul(g.reshape(view, [n, group, cg, oh * ow]), dyT); // [N, G, C/G, O/G]
      taps.push(n > 1 ? g.reshape(sumLeading(g, prod), [1, ...prod.shape.slice(1)]) : prod); // [1, G, C/G, O/G]
    }
  }
  const stacked = taps.length > 1 ? g.concat(taps, 0) : taps[0]; // [kh·kw, G, C/G, O/G]
  // → [G, O/G, C/G, kh·kw] = [O, C/G, kh, kw]
  return g.reshape(g.transpose(stacked, [1, 3, 2, 0]), [o, cg, kh, kw]);
}

/**
 * Default largest im2col buffer (elements) the weight-gradient lowering materialises; beyond
 * it the per-tap form runs instead, which holds one tap's view at a time (the planner frees it
 * after its MatMul) rather than all kh·kw of them. 2²⁶ floats = 256 MiB.
 */
export const IM2COL_MAX_ELEMENTS = 1 << 26;

/** Σ over the leading axis of `x` [N, …] as ones[1, N] · x[N, ∏…]: ORT CPU's ReduceSum over a leading axis ran ~5× slower (measured). */
function sumLeading(g: GraphBuilder, x: Value): Value {
  const [n, ...rest] = x.shape;
  if (n === 1) return g.reshape(x, rest);
  const ones = g.floats(new Float32Array(n).fill(1), [1, n]);
  return g.reshape(g.matMul(ones, g.reshape(x, [n, numel(rest)])), rest);
}

/**
 * The im2col tensor of `x` [N, C, …spatial] for a kernel of `kernel` taps, as a grouped
 * convolution with one-hot filters: output channel c·T + t of group c copies tap t of
 * channel c, so the result [N, C·T, …out] holds every receptive field, laid out as MLAS's
 * own im2col would (one standard op, all cores, no per-tap slicing).
 */
function im2col(g: GraphBuilder, x: Value, kernel: readonly number[], strides: number[], pads: number[], dilations: number[]): Value {
  const c = x.shape[1];
  const t = numel(kernel);
  const oneHot = new Float32Array(c * t * t);
  for (let ci = 0; ci < c; ci++) for (let k = 0; k < t; k++) oneHot[(ci * t + k) * t + k] = 1;
  return g.conv(x, g.floats(oneHot, [c * t, 1, ...kernel]), undefined, { strides, pads, dilations, group: c });
}

/**
 * dW of a convolution from the im2col of its input: per group, dW_g = Σ_n dY_g[n] · colsᵀ_g[n]
 * ([O/G, S] · [S, C/G·T]) — one batched MatMul (ORT folds the transpose into the GEMM) and a
 * sum over the batch. In-process A/B on the reference keypoint model: a whole training step
 * ~12 % faster than the per-tap form.
 */
function convWeightGradIm2col(g: GraphBuilder, x: Value, dy: Value, kernel: readonly number[], strides: number[], pads: number[], dilations: number[], group: number): Value {
  const [n, c] = x.shape;
  const o = dy.shape[1];
  const s = numel(dy.shape.slice(2));
  const t = numel(kernel);
  const cols = g.reshape(im2col(g, x, kernel, strides, pads, dilations), [n, group, (c / group) * t, s]);
  const dyG = g.reshape(dy, [n, group, o / group, s]);
  const perImage = g.matMul(dyG, g.transpose(cols, [0, 1, 3, 2])); // [N, G, O/G, C/G·T]
  return g.reshape(sumLeading(g, perImage), [o, c / group, ...kernel]);
}

/**
 * dW of a stride-1, group-1 2-D convolution as one MatMul per kernel tap with the batch folded
 * into the contraction: X in channel-major layout [C, N, Hp, Wp] (one transpose + pad), each
 * tap's window [C, N·Ho·Wo] times dY as [N·Ho·Wo, O] — long-K GEMMs, no im2col buffer and no
 * sum over the batch afterwards.
 */
function convWeightGradChannelTaps(g: GraphBuilder, x: Value, dy: Value, kernel: readonly number[], pads: number[], dilations: number[]): Value {
  const [n, c] = x.shape;
  const [, o, oh, ow] = dy.shape;
  const [kh, kw] = kernel;
  const xt = g.transpose(x, [1, 0, 2, 3]);
  const xp = pads.some((v) => v !== 0) ? g.pad(xt, [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]]) : xt;
  const dyT = g.reshape(g.transpose(dy, [0, 2, 3, 1]), [n * oh * ow, o]);
  const taps: Value[] = [];
  for (let p = 0; p < kh; p++) {
    for (let q = 0; q < kw; q++) {
      const y0 = p * dilations[0];
      const x0 = q * dilations[1];
      const whole = y0 === 0 && x0 === 0 && oh === xp.shape[2] && ow === xp.shape[3];
      const view = whole ? xp : g.slice(xp, [y0, x0], [y0 + oh, x0 + ow], [2, 3]);
      taps.push(g.reshape(g.matMul(g.reshape(view, [c, n * oh * ow]), dyT), [1, c, o]));
    }
  }
  const stacked = taps.length > 1 ? g.concat(taps, 0) : taps[0]; // [kh·kw, C, O]
  return g.reshape(g.transpose(stacked, [2, 1, 0]), [o, c, kh, kw]);
}

/** Input channels from which a stride-1 conv's weight gradient uses {@link convWeightGradChannelTaps}. */
const CHANNEL_TAPS_MIN_CHANNELS = 32;

/** dW [C_in, C_out, …kernel] of a (group 1) transposed convolution from the im2col of dY. */
function convTransposeWeightGradIm2col(g: GraphBuilder, x: Value, dy: Value, kernel: readonly number[], strides: number[], pads: number[], dilations: number[]): Value {
  const [n, ci] = x.shape;
  const co = dy.shape[1];
  const s = numel(x.shape.slice(2));
  const cols = g.reshape(im2col(g, dy, kernel, strides, pads, dilations), [n, co * numel(kernel), s]);
  const perImage = g.matMul(g.reshape(x, [n, ci, s]), g.transpose(cols, [0, 2, 1])); // [N, C_in, C_out·T]
  return g.reshape(sumLeading(g, perImage), [ci, co, ...kernel]);
}

/**
 * Stride-1 weight gradient with contiguous tap views: in the padded input flattened over
 * (H, W), tap (p, q) is the window starting at p·d·Wp + q·d, provided dY is laid out on
 * the padded width (zero columns beyond Wo). Each tap is then a 1-D slice of long
 * contiguous runs instead of a 2-D strided copy.
 */
function convWeightGradFlat(g: GraphBuilder, x: Value, dy: Value, kernel: readonly number[], pads: number[], dilations: number[], group: number): Value {
  const [n, c, h, w] = x.shape;
  const [, o, oh, ow] = dy.shape;
  const [kh, kw] = kernel;
  const cg = c / group;
  const og = o / group;
  const hp = h + pads[0] + pads[2];
  const wp = w + pads[1] + pads[3];
  // One spare row so that the last tap's window stays inside the buffer.
  const xp = g.pad(x, [0, 0, pads[0], pads[1], 0, 0, pads[2] + 1, pads[3]]);
  const xf = g.reshape(xp, [n, group, cg, (hp + 1) * wp]);
  const dyw = wp > ow ? g.pad(dy, [0, 0, 0, 0, 0, 0, 0, wp - ow]) : dy;
  const dyT = g.transpose(g.reshape(dyw, [n, group, og, oh * wp]), [0, 1, 3, 2]); // [N, G, Ho·Wp, O/G]
  const taps: Value[] = [];
  for (let p = 0; p < kh; p++) {
    for (let q = 0; q < kw; q++) {
      const off = p * dilations[0] * wp + q * dilations[1];
      const view = g.slice(xf, [off], [off + oh * wp], [3]);
      const prod = g.matMul(view, dyT); // [N, G, C/G, O/G]
      taps.push(n > 1 ? g.reshape(sumLeading(g, prod), [1, ...prod.shape.slice(1)]) : prod);
    }
  }
  const stacked = taps.length > 1 ? g.concat(taps, 0) : taps[0];
  return g.reshape(g.transpose(stacked, [1, 3, 2, 0]), [o, cg, kh, kw]);
}

/**
 * dX of a stride-1 convolution as a plain convolution of dY with the spatially flipped,
 * in/out-swapped kernel (faster than ConvTranspose on ONNX Runtime's CPU provider).
 * Returns undefined where the padding identity does not hold (then use ConvTranspose).
 */
function convInputGradStride1(g: GraphBuilder, dy: Value, w: Value, kernel: readonly number[], pads: number[], dilations: number[]): Value | undefined {
  const nsp = kernel.length;
  const newPads = [...kernel.map((k, i) => dilations[i] * (k - 1) - pads[i]), ...kernel.map((k, i) => dilations[i] * (k - 1) - pads[nsp + i])];
  if (newPads.some((p) => p < 0)) return undefined;
  const axes = kernel.map((_, i) => i + 2);
  const flipped = kernel.every((k) => k === 1) ? w : g.slice(w, kernel.map(() => -1), kernel.map(() => -(2 ** 31)), axes, kernel.map(() => -1));
  const wt = g.transpose(flipped, [1, 0, ...axes]);
  return g.conv(dy, wt, undefined, { pads: newPads, dilations });
}

function convGradStandard({ g, node, x, dy, need, options }: GradContext): (Value | undefined)[] {
  const [xs, w, b] = [x[0]!, x[1]!, x[2]];
  const a = convAttrs(node, xs, w);
  if (a.group !== 1 && a.nsp !== 2) throw new OmniRangeError('autodiff: grouped Conv (standard lowering)', '2-D', `${a.nsp}-D`);
  const grad = dy[0]!;
  let dX: Value | undefined;
  if (need[0]) {
    if (a.group === 1 && a.strides.every((s) => s === 1)) dX = convInputGradStride1(g, grad, w, a.kernel, a.pads, a.dilations);
    if (!dX) {
      const outputPadding = a.kernel.map((k, i) => {
        const produced = grad.shape[2 + i];
        return xs.shape[2 + i] - (a.strides[i] * (produced - 1) + a.dilations[i] * (k - 1) + 1 - a.pads[i] - a.pads[a.nsp + i]);
      });
      // Grouped too: ConvTranspose's weight layout [C_in, C_out/G, …] is exactly W's [O, C/G, …].
      dX = g.convTranspose(grad, w, undefined, { strides: a.strides, pads: a.pads, dilations: a.dilations, outputPadding, group: a.group });
    }
  }
  let dW: Value | undefined;
  if (need[1]) {
    // Measured on onnxruntime-node CPU (reference keypoint model, in-process A/B): im2col +
    // one batched MatMul beats the per-tap MatMuls (~12 % of a whole step), which beat the
    // conv-of-transposed-tensors form ~2× for stride 1 and also for strided convs.
    const colsElements = numel(xs.shape.slice(0, 2)) * numel(a.kernel) * numel(grad.shape.slice(2));
    // Stride 1 with ≥ 32 input channels: per-tap GEMMs over the whole batch beat im2col (whose
    // one-hot grouped conv alone cost more than the forward conv): in-process A/B with NCHWc
    // convolutions, 1 thread, 20 alternating steps (loaded 2-core machine), keypoint model
    // 102 → 97 ms CPU per step and detector 98.5 → 85.7 ms (first quartiles). At 16 channels
    // and 48 × 48 the two were even.
    // The conv form's input channels are the batch: NCHWc needs a multiple of 4 there, or fewer
    // than the block (≥ 8), else the conv stays on ORT's generic path, where 'classic' is faster.
    // A 1 × 1 conv's classic form is a plain MatMul already (the conv form was 5–10× slower
    // there on the detector's 1 × 1 heads, 1 and 4 outputs).
    const batchFitsNchwc = xs.shape[0] % 4 === 0 || xs.shape[0] < 8;
    if (a.group === 1 && a.nsp === 2 && batchFitsNchwc && numel(a.kernel) > 1 && options.convWeightGradient === 'conv') dW = convWeightGradConv(g, xs, grad, a.kernel, a.strides, a.pads, a.dilations);
    else if (a.group === 1 && a.nsp === 2 && a.strides.every((v) => v === 1) && xs.shape[1] >= CHANNEL_TAPS_MIN_CHANNELS) dW = convWeightGradChannelTaps(g, xs, grad, a.kernel, a.pads, a.dilations);
    else if (colsElements <= options.im2colMaxElements) dW = convWeightGradIm2col(g, xs, grad, a.kernel, a.strides, a.pads, a.dilations, a.group);
    else if (a.nsp === 2) dW = convWeightGradMatMul(g, xs, grad, a.kernel, a.strides, a.pads, a.dilations, a.group);
    else dW = convWeightGrad(g, xs, grad, a.kernel, a.strides, a.pads, a.dilations);
  }
  const dB = b && need[2] ? g.reduceSum(grad, [0, ...a.kernel.map((_, i) => i + 2)]) : undefined;
  return [dX, dW, dB];
}

function convTransposeGrad({ g, node, x, dy, need, options }: GradContext): (Value | undefined)[] {
  const [xs, w, b] = [x[0]!, x[1]!, x[2]];
  const a = convAttrs(node, xs, w);
  if (a.group !== 1) throw new OmniRangeError('autodiff: ConvTranspose group', '1', a.group);
  const grad = dy[0]!;
  // dX: the adjoint of a transposed conv is the plain conv with the same weights.
  const dX = need[0] ? g.conv(grad, w, undefined, { strides: a.strides, pads: a.pads, dilations: a.dilations }) : undefined;
  // dW[ci,co,p,q] = Σ X[n,ci,i,j]·dY[n,co,i·s+p·d−pad,…]: X against the im2col of dY taken
  // with the forward conv's geometry (whose output grid is X's), or a conv of dYᵀ by Xᵀ.
  let dW: Value | undefined;
  if (need[1]) {
    const colsElements = numel(grad.shape.slice(0, 2)) * numel(a.kernel) * numel(xs.shape.slice(2));
    dW =
      colsElements <= options.im2colMaxElements
        ? convTransposeWeightGradIm2col(g, xs, grad, a.kernel, a.strides, a.pads, a.dilations)
        : convWeightGrad(g, grad, xs, a.kernel, a.strides, a.pads, a.dilations);
  }
  const dB = b && need[2] ? g.reduceSum(grad, [0, ...a.kernel.map((_, i) => i + 2)]) : undefined;
  return [dX, dW, dB];
}

/**
 * 1-D interpolation matrix A [out, in] of ONNX/torch resize along one axis, so that
 * y = A·x. linear = half_pixel with clamping (torch align_corners=False); nearest =
 * asymmetric + floor (torch 'nearest').
 */
export function interpolationMatrix(inSize: number, outSize: number, mode: 'nearest' | 'linear'): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const ratio = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      m[o * inSize + Math.min(Math.floor(o * ratio), inSize - 1)] = 1;
      continue;
    }
    const src = Math.min(Math.max((o + 0.5) * ratio - 0.5, 0), inSize - 1);
    const x0 = Math.floor(src);
    const x1 = Math.min(x0 + 1, inSize - 1);
    const lambda = src - x0;
    m[o * inSize + x0] += 1 - lambda;
    m[o * inSize + x1] += lambda;
  }
  return m;
}

function resizeGrad(g: GraphBuilder, x: Value, y: Value, dy: Value, mode: string): Value {
  const [, , h, w] = x.shape;
  const [, , oh, ow] = y.shape;
  if (mode === 'nearest' && oh % h === 0 && ow % w === 0) {
    // Integer nearest upsampling: each input pixel feeds an s×s block → sum-pool.
    const sh = oh / h;
    const sw = ow / w;
    return g.mul(g.averagePool(dy, { kernel: [sh, sw] }), sh * sw);
  }
  // General case: y = A_h · x · A_wᵀ per channel, so dx = A_hᵀ · dy · A_w.
  const ah = interpolationMatrix(h, oh, mode === 'linear' ? 'linear' : 'nearest');
  const aw = interpolationMatrix(w, ow, mode === 'linear' ? 'linear' : 'nearest');
  const ahT = new Float32Array(h * oh);
  for (let o = 0; o < oh; o++) for (let i = 0; i < h; i++) ahT[i * oh + o] = ah[o * h + i];
  const t = g.matMul(dy, g.floats(aw, [ow, w]));
  return g.matMul(g.floats(ahT, [h, oh]), t);
}

/**
 * dX of a 2-D AveragePool: dY divided by each window's element count, spread back over the
 * window by a depthwise ConvTranspose with a ones kernel (the adjoint of the window sum).
 */
function averagePoolGrad(g: GraphBuilder, node: NodeDef, x: Value, dy: Value): Value {
  const kernel = ints(node, 'kernel_shape');
  if (kernel.length !== 2) throw new OmniRangeError(`autodiff: AveragePool ${node.name} kernel`, '2-D', kernel.length);
  const strides = ints(node, 'strides', [1, 1]);
  const pads = ints(node, 'pads', [0, 0, 0, 0]);
  const includePad = int(node, 'count_include_pad', 0) === 1;
  const [, c, h, w] = x.shape;
  const [, , oh, ow] = dy.shape;
  const inv = new Float32Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const y0 = i * strides[0] - pads[0];
      const x0 = j * strides[1] - pads[1];
      const rows = includePad ? kernel[0] : Math.min(y0 + kernel[0], h) - Math.max(y0, 0);
      const cols = includePad ? kernel[1] : Math.min(x0 + kernel[1], w) - Math.max(x0, 0);
      inv[i * ow + j] = 1 / (rows * cols);
    }
  }
  const scaled = g.mul(dy, g.floats(inv, [1, 1, oh, ow]));
  const ones = g.floats(new Float32Array(c * kernel[0] * kernel[1]).fill(1), [c, 1, ...kernel]);
  const outputPadding = [h, w].map((d, i) => d - (strides[i] * (dy.shape[2 + i] - 1) + kernel[i] - pads[i] - pads[2 + i]));
  return g.convTranspose(scaled, ones, undefined, { strides, pads, outputPadding, group: c });
}

function resolveGradientOptions(o: GradientOptions): Required<GradientOptions> {
  const limit = o.im2colMaxElements ?? IM2COL_MAX_ELEMENTS;
  if (!Number.isInteger(limit) || limit < 0) throw new OmniRangeError('gradientOptions.im2colMaxElements', 'an integer ≥ 0', limit);
  const form = o.convWeightGradient ?? DEFAULT_CONV_WEIGHT_GRADIENT;
  if (form !== 'classic' && form !== 'conv') throw new OmniRangeError('gradientOptions.convWeightGradient', '"classic" or "conv"', form);
  return { im2colMaxElements: limit, convWeightGradient: form };
}

/** Ops with a gradient rule (for documentation and error messages). */
export const DIFFERENTIABLE_OPS: readonly string[] = Object.keys(rules).sort();

/**
 * Appends the gradient of scalar `loss` w.r.t. each of `wrt` to the builder and returns
 * them by name. Values in `wrt` that the loss does not depend on get zero gradients.
 */
export function buildGradients(g: GraphBuilder, loss: Value, wrt: readonly Value[], gradientOptions: GradientOptions = {}): Map<string, Value> {
  const options = resolveGradientOptions(gradientOptions);
  if (numel(loss.shape) !== 1) throw new OmniRangeError('autodiff: loss.shape', 'a single element', fmtShape(loss.shape));
  const forward = [...g.nodes];
  const wrtNames = new Set(wrt.map((v) => v.name));

  // Values that depend on a differentiated leaf (and so may carry a gradient).
  const live = new Set(wrtNames);
  for (const node of forward) {
    if (NON_DIFFERENTIABLE.has(node.opType) || g.nodeMeta.get(node)?.noGrad) continue;
    if (node.inputs.some((i) => live.has(i))) {
      node.outputs.forEach((o, k) => {
        if (o === '') return;
        const v = g.value(o);
        if (v.dtype !== 'float32') return;
        if ((node.opType === 'MaxPool' || node.opType === 'BatchNormInternal') && k > 0) return;
        live.add(o);
      });
    }
  }
  if (!live.has(loss.name)) throw new OmniRangeError('autodiff: loss', 'a value that depends on the parameters', loss.name);

  const grads = new Map<string, Value>();
  const accumulate = (name: string, d: Value): void => {
    const prev = grads.get(name);
    grads.set(name, prev ? g.add(prev, d) : d);
  };
  accumulate(loss.name, g.constant(new Float32Array(numel(loss.shape)).fill(1), loss.shape, 'float32', 'loss_seed'));

  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k];
    const dy = node.outputs.map((o) => (o === '' ? undefined : grads.get(o)));
    if (dy.every((d) => d === undefined)) continue;
    const composite = g.nodeMeta.get(node)?.composite;
    if (composite) {
      const cneed = composite.inputs.map((v) => live.has(v.name));
      const dx = composite.grad(g, dy[0] ?? zeroLike(g, g.value(node.outputs[0])), cneed);
      dx.forEach((d, i) => {
        if (d && cneed[i]) accumulate(composite.inputs[i].name, d);
      });
      continue;
    }
    const need = node.inputs.map((i) => i !== '' && live.has(i));
    if (!need.some(Boolean)) continue;
    const rule = rules[node.opType];
    if (!rule) {
      throw new OmniRangeError(`autodiff: node ${node.name}`, `an op with a gradient rule (${DIFFERENTIABLE_OPS.join(', ')})`, node.opType);
    }
    if (dy[0] === undefined && node.outputs.length >= 1) {
      // Only secondary outputs carry gradient: materialise a zero for the primary one.
      dy[0] = zeroLike(g, g.value(node.outputs[0]));
    }
    const x = node.inputs.map((i) => (i === '' ? undefined : g.value(i)));
    const y = node.outputs.map((o) => (o === '' ? undefined : g.value(o)));
    const dx = rule({ g, node, lowering: g.lowering, x, y, dy, need, options });
    dx.forEach((d, i) => {
      if (d && need[i]) {
        if (!shapeEquals(d.shape, x[i]!.shape)) {
          throw new Error(`autodiff bug: gradient of ${node.opType} input ${i} has shape ${fmtShape(d.shape)}, expected ${fmtShape(x[i]!.shape)}`);
        }
        accumulate(node.inputs[i], d);
      }
    });
  }

  const result = new Map<string, Value>();
  for (const v of wrt) result.set(v.name, grads.get(v.name) ?? zeroLike(g, v));
  return result;
}
