// Test helpers: run a model definition's eval graph (parameters baked in) in onnxruntime-node.
import { instantiate, type ModelDefinition } from '@omnidistill/artifacts';
import * as ort from 'onnxruntime-node';

export type Inputs = Record<string, Float32Array | BigInt64Array | { data: Float32Array | BigInt64Array; dims: number[] }>;

/** Runs ONNX bytes on named inputs (dims from `dims` or the given {data, dims}). */
export async function runOnnx(bytes: Uint8Array, inputs: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) feeds[k] = new ort.Tensor(v.data instanceof Float32Array ? 'float32' : 'int64', v.data, v.dims);
  const out = (await s.run(feeds)) as Record<string, ort.Tensor>;
  await s.release();
  return out;
}

/** The eval graph of `define` with its initial parameters, run once. */
export async function runEval(define: ModelDefinition, inputs: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }>) {
  const { g, parts } = instantiate(define, 'eval', 'standard');
  for (const [name, value] of Object.entries(parts.outputs ?? {})) g.output(value, name);
  return runOnnx(g.toModelBytes(), inputs);
}

/** Seeded uniform values in [lo, hi). */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = lo + ((hi - lo) * s) / 4294967296;
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
