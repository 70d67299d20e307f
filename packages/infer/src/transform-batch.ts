// Several transforms of one image in one model call. A model whose image input has a dynamic
// batch dimension (e.g. an Ultralytics export with `dynamic=True`) takes every transform whose
// input has the same size — an image and its flip, or the whole plan when the input size is
// fixed — as one `[B, 3, H, W]` run instead of B runs: one onnxruntime call's fixed cost instead
// of B, and larger kernels. A model with a fixed batch of 1 gets one transform per call, as before.
// Each item of a batched output is what the same model returns for that item alone (the graphs
// compute item by item; tests compare batched with one-per-call outputs bit for bit).
import { Tensor } from 'onnxruntime-node';
import { inputBuffers } from './input-buffers.js';
import type { ModelSession } from './session.js';

/**
 * The most transforms per call: enough to amortise a call's fixed cost, few enough that a batch
 * of 640 × 640 inputs stays ~40 MB (8 × 3 × 640 × 640 floats) with its outputs.
 */
export const MAX_TRANSFORM_BATCH = 8;

/**
 * Models whose graph does not honour the dynamic batch dimension they declare (a reshape to
 * batch 1 inside, or an output of batch 1), with the failure that showed it. Keyed by the
 * checked input signatures, which a model's timed views (withStageClock) share with it.
 */
const batchRefused = new WeakMap<object, string>();

/**
 * Transforms per model call: {@link MAX_TRANSFORM_BATCH} when the image input's batch dimension
 * is dynamic (and the graph has not shown that it cannot batch), else 1.
 */
export function transformBatchOf(model: ModelSession): number {
  return model.inputs.image.dims[0] === null && !batchRefused.has(model.inputs) ? MAX_TRANSFORM_BATCH : 1;
}

/** Why batching was turned off for this model (the batched call's failure, shortened), or null while it batches. */
export function batchRefusal(model: ModelSession): string | null {
  return batchRefused.get(model.inputs) ?? null;
}

/** A batched output whose batch dimension is not the input's: the graph computed one item, not the batch. */
export class BatchShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchShapeError';
  }
}

/**
 * Whether a batched call's failure shows that the graph cannot take a batch: a
 * {@link BatchShapeError}, or onnxruntime's shape errors (a Reshape/Expand/broadcast to the
 * exported batch of 1). Anything else (a failed allocation for the larger batch, a worker
 * thread failure) is the call's own, and says nothing about later batches.
 */
export function isBatchShapeFailure(error: unknown): boolean {
  if (error instanceof BatchShapeError) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /reshape|shape|dimension|broadcast/i.test(message) && !/alloc|out of memory/i.test(message);
}

/**
 * `run(items)` on a batch of items. When a batch of several fails, its items run one by one
 * (so a failure then is the item's own); only a failure that shows the graph cannot batch
 * ({@link isBatchShapeFailure}) turns batching off for the model ({@link transformBatchOf} is 1
 * from then on). Results are in item order either way.
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
  } catch (error) {
    if (isBatchShapeFailure(error)) batchRefused.set(model.inputs, shortReason(error));
    return each();
  }
}

/** The first line of a failure, at most 160 characters, for the run's log. */
function shortReason(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
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

/**
 * A `[B, ...itemDims]` float32 input filled item by item: each `fill` writes EVERY element of
 * one item's slice (the buffer comes from the reused input buffers, input-buffers.ts, and holds
 * what its last user left). Hand it back with {@link releaseInput} once the model call returned.
 */
export function stackedInput(count: number, itemDims: readonly number[], fill: (item: Float32Array, index: number) => void): Tensor {
  const size = itemDims.reduce((a, b) => a * b, 1);
  const data = inputBuffers.take(count * size);
  for (let i = 0; i < count; i++) fill(data.subarray(i * size, (i + 1) * size), i);
  return new Tensor('float32', data, [count, ...itemDims]);
}

/** Gives a {@link stackedInput}'s buffer back for the next input (nothing may read the tensor afterwards). */
export function releaseInput(input: Tensor): void {
  inputBuffers.give(input.data as Float32Array);
}

/** Item `index` of a `[B, ...]` float32 output: a view, not a copy. */
export function batchItem(output: Tensor, index: number): Float32Array {
  const data = output.data as Float32Array;
  const size = data.length / output.dims[0];
  return data.subarray(index * size, (index + 1) * size);
}
