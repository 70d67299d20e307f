// Test helpers: deterministic random data, an onnxruntime-node runner and comparisons.
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { gradientModel, gradientOutputName, type ModelDefinition } from '@omnidistill/artifacts';

/** Mulberry32: a small seeded PRNG so fixtures are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

export type Feed = Float32Array | BigInt64Array | Uint8Array;

/** Runs a model once in onnxruntime-node (1 thread) and returns outputs by name. */
export async function runNode(
  bytes: Uint8Array,
  feeds: Record<string, { data: Feed; dims: readonly number[] }>,
): Promise<Record<string, { data: Float32Array | BigInt64Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'basic' });
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) {
      const type = v.data instanceof Float32Array ? 'float32' : v.data instanceof BigInt64Array ? 'int64' : 'bool';
      inputs[k] = new ort.Tensor(type, type === 'bool' ? Uint8Array.from(v.data as Uint8Array) : v.data, [...v.dims]);
    }
    const out = await session.run(inputs);
    const result: Record<string, { data: Float32Array | BigInt64Array; dims: readonly number[] }> = {};
    for (const [k, t] of Object.entries(out)) result[k] = { data: t.data as Float32Array, dims: t.dims };
    return result;
  } finally {
    await session.release();
  }
}

/** Max |a−b| / max(|b|max, floor) — a relative error over a whole tensor. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let maxDiff = 0;
  let maxRef = floor;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return maxDiff / maxRef;
}

/** Plain reference 2-D convolution (NCHW, group 1). */
export function refConv2d(
  x: Float32Array,
  xs: readonly number[],
  w: Float32Array,
  ws: readonly number[],
  b: Float32Array | undefined,
  stride: number,
  pad: number,
  dilation: number,
): { data: Float32Array; shape: number[] } {
  const [n, c, h, wd] = xs;
  const [o, , kh, kw] = ws;
  const oh = Math.floor((h + 2 * pad - dilation * (kh - 1) - 1) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - dilation * (kw - 1) - 1) / stride) + 1;
  const out = new Float32Array(n * o * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let s = b ? b[oi] : 0;
          for (let ci = 0; ci < c; ci++)
            for (let p = 0; p < kh; p++)
              for (let q = 0; q < kw; q++) {
                const iy = y * stride + p * dilation - pad;
                const ix = xx * stride + q * dilation - pad;
                if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
                s += x[((ni * c + ci) * h + iy) * wd + ix] * w[((oi * c + ci) * kh + p) * kw + q];
              }
          out[((ni * o + oi) * oh + y) * ow + xx] = s;
        }
  return { data: out, shape: [n, o, oh, ow] };
}

/** A torch-autograd gradient fixture (tools/student/*.py): tensors as [offset, length] into one float32 blob. */
export interface TorchGradientFixture {
  readonly input: { readonly name: string; readonly dims: number[]; readonly at: [number, number] };
  readonly targets: Readonly<Record<string, { readonly dims: number[]; readonly at: [number, number] }>>;
  readonly loss: number;
  readonly grads: Readonly<Record<string, [number, number]>>;
}

/**
 * Runs the gradient graph of `define` on the fixture's input, targets and the model's initial
 * weights and expects the loss and every trainable parameter's gradient within `tolerance` of
 * torch's (relative to the tensor's largest value, floored at 1% of the model's largest
 * gradient). Returns the loss and the worst relative error.
 */
export async function expectTorchGradients(
  define: ModelDefinition,
  meta: TorchGradientFixture,
  at: (span: [number, number]) => Float32Array,
  tolerance = 1e-4,
): Promise<{ loss: number; worst: number; parameters: number }> {
  const grad = gradientModel(define, 'standard');
  const feeds: Record<string, { data: Float32Array; dims: readonly number[] }> = { [meta.input.name]: { data: at(meta.input.at), dims: meta.input.dims } };
  for (const [name, t] of Object.entries(meta.targets)) feeds[name] = { data: at(t.at), dims: t.dims };
  for (const p of grad.params) feeds[p.name] = { data: p.init, dims: p.shape };
  const out = await runNode(grad.bytes, feeds);
  const loss = (out.loss.data as Float32Array)[0];
  expect(Math.abs(loss - meta.loss) / Math.abs(meta.loss)).toBeLessThan(tolerance);
  const trainable = grad.params.filter((p) => p.trainable);
  expect(trainable.map((p) => p.name).sort()).toEqual(Object.keys(meta.grads).sort());
  const scale = Math.max(...Object.values(meta.grads).map((s) => Math.max(...at(s).map(Math.abs))));
  let worst = 0;
  for (const p of trainable) {
    const err = relError(out[gradientOutputName(p.name)].data as Float32Array, at(meta.grads[p.name]), 0.01 * scale);
    worst = Math.max(worst, err);
    expect(err, `d loss / d ${p.name}`).toBeLessThan(tolerance);
  }
  return { loss, worst, parameters: trainable.length };
}
