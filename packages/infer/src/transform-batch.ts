// Several transforms of one image in one model call. A model whose image input has a dynamic
// batch dimension (e.g. an Ultralytics export with `dynamic=True`) takes every transform whose
// input has the same size — an image and its flip, or the whole plan when the input size is
// fixed — as one `[B, 3, H, W]` run instead of B runs: one onnxruntime call's fixed cost instead
// of B, and larger kernels. A model with a fixed batch of 1 gets one transform per call, as before.
// Each item of a batched output is what the same model returns for that item alone (the graphs
// compute item by item; tests compare batched with one-per-call outputs bit for bit).
import { Tensor } from 'onnxruntime-node';
import type { ModelSession } from './session.js';

/**
 * The most transforms per call: enough to amortise a call's fixed cost, few enough that a batch
 * of 640 × 640 inputs stays ~40 MB (8 × 3 × 640 × 640 floats) with its outputs.
 */
export const MAX_TRANSFORM_BATCH = 8;

/**
 * Models whose batched run failed: some exports declare a dynamic batch dimension that their
 * graph does not honour (a reshape to batch 1 inside). Keyed by the checked input signatures,
 * which a model's timed views (withStageClock) share with it.
 */
const batchRefused = new WeakSet<object>();

/**
 * Transforms per model call: {@link MAX_TRANSFORM_BATCH} when the image input's batch dimension
 * is dynamic (and a batched run has not failed on this model), else 1.
 */
export function transformBatchOf(model: ModelSession): number {
  return model.inputs.image.dims[0] === null && !batchRefused.has(model.inputs) ? MAX_TRANSFORM_BATCH : 1;
}

/**
 * One result per geometry, in order: through `all` when the layout runs several transforms per
 * call (`detectAll`, `runAll`), else `one` geometry at a time.
 */
export async function perGeometry<G, R>(geometries: readonly G[], one: (g: G) => Promise<R>, all?: (gs: readonly G[]) => Promise<R[]>): Promise<R[]> {
  if (all) return all(geometries);
  const out: R[] = [];
  for (const g of geometries) out.push(await one(g));
  return out;
}

/**
 * `run(items)` on a batch of items; when a batch of several fails, the model is taken for one
 * that cannot batch ({@link transformBatchOf} is 1 from then on) and each item runs alone, so
 * a failure then is the item's own. Results are in item order either way.
 */
export async function runBatchOrEach<I, O>(model: ModelSession, items: readonly I[], run: (items: readonly I[]) => Promise<O[]>): Promise<O[]> {
  const each = async () => {
    const out: O[] = [];
    for (const item of items) out.push(...(await run([item])));
    return out;
  };
  if (items.length === 1) return run(items);
  // Batches planned before a failure learnt that the model cannot batch.
  if (batchRefused.has(model.inputs)) return each();
  try {
    return await run(items);
  } catch {
    batchRefused.add(model.inputs);
    return each();
  }
}

/**
 * Splits items into runs of consecutive items with the same key (their input size), each at
 * most `max` long, in order. Plans list each scale unflipped then flipped, so consecutive
 * grouping pairs them; with a fixed input size the whole plan is one key.
 */
export function consecutiveBatches(keys: readonly string[], max: number): number[][] {
  const batches: number[][] = [];
  keys.forEach((key, i) => {
    const last = batches.at(-1);
    if (last !== undefined && last.length < max && keys[last[0]] === key) last.push(i);
    else batches.push([i]);
  });
  return batches;
}

/** A `[B, ...itemDims]` float32 input filled item by item (each `fill` writes one item's slice). */
export function stackedInput(count: number, itemDims: readonly number[], fill: (item: Float32Array, index: number) => void): Tensor {
  const size = itemDims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count * size);
  for (let i = 0; i < count; i++) fill(data.subarray(i * size, (i + 1) * size), i);
  return new Tensor('float32', data, [count, ...itemDims]);
}

/** Item `index` of a `[B, ...]` float32 output: a view, not a copy. */
export function batchItem(output: Tensor, index: number): Float32Array {
  const data = output.data as Float32Array;
  const size = data.length / output.dims[0];
  return data.subarray(index * size, (index + 1) * size);
}
