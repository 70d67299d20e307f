import { describe, expect, it } from 'vitest';
import { BatchShapeError, batchRefusal, consecutiveBatches, isBatchShapeFailure, runBatchOrEach, transformBatchOf } from '../src/transform-batch.js';
import type { ModelSession } from '../src/session.js';

/** A stand-in model with a dynamic batch dimension (only its input signature is read). */
const dynamicModel = () => ({ inputs: { image: { name: 'images', type: 'float32', dims: [null, 3, null, null] } } }) as unknown as ModelSession;

describe('consecutiveBatches', () => {
  it('groups consecutive items of one input size, at most `max` per batch, in order', () => {
    // A scale plan on a dynamic-size input: identity + flip, 0.5x + flip, then identity size again.
    expect(consecutiveBatches(['a', 'a', 'b', 'b', 'a'], 8)).toEqual([[0, 1], [2, 3], [4]]);
    // A fixed input: one size for the whole plan, cut at `max`.
    expect(consecutiveBatches(Array(5).fill('s'), 2)).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('gives one item per batch for a batch of 1 (a model with a fixed batch dimension), and nothing for no items', () => {
    expect(consecutiveBatches(['a', 'a', 'a'], 1)).toEqual([[0], [1], [2]]);
    expect(consecutiveBatches([], 8)).toEqual([]);
  });
});

describe('runBatchOrEach', () => {
  /** `run` that fails its first batched call with `error`, and records the batch sizes it is called with. */
  const failingOnce = (error: Error) => {
    const sizes: number[] = [];
    let failed = false;
    const run = async (items: readonly number[]) => {
      sizes.push(items.length);
      if (items.length > 1 && !failed) {
        failed = true;
        throw error;
      }
      return items.map((i) => i * 10);
    };
    return { sizes, run };
  };

  it('a failure that is not about the batch shape (memory) runs that batch one by one and keeps batching', async () => {
    const model = dynamicModel();
    const { sizes, run } = failingOnce(new Error('Failed to allocate memory for requested buffer of size 471859200'));
    expect(await runBatchOrEach(model, [1, 2, 3], run)).toEqual([10, 20, 30]);
    expect(await runBatchOrEach(model, [4, 5], run)).toEqual([40, 50]);
    expect(sizes).toEqual([3, 1, 1, 1, 2]); // the next batch goes whole again
    expect(transformBatchOf(model)).toBe(8);
    expect(batchRefusal(model)).toBeNull();
  });

  it("a shape failure (the graph reshapes to batch 1) turns batching off for the model, with onnxruntime's reason", async () => {
    const model = dynamicModel();
    const reason = "Non-zero status code returned while running Reshape node. Name:'/Reshape_3' Status Message: input_shape_size == requested_shape_size was false.";
    const { sizes, run } = failingOnce(new Error(reason));
    expect(await runBatchOrEach(model, [1, 2], run)).toEqual([10, 20]);
    expect(await runBatchOrEach(model, [3, 4], run)).toEqual([30, 40]);
    expect(sizes).toEqual([2, 1, 1, 1, 1]);
    expect(transformBatchOf(model)).toBe(1);
    expect(batchRefusal(model)).toBe(reason); // its first line, under 160 characters
  });

  it('tells shape failures from the others', () => {
    expect(isBatchShapeFailure(new BatchShapeError('output has batch 1 for an input batch of 2'))).toBe(true);
    expect(isBatchShapeFailure(new Error('Got invalid dimensions for input: images for the following indices index: 0 Got: 2 Expected: 1'))).toBe(true);
    expect(isBatchShapeFailure(new Error('Non-zero status code returned while running Expand node: invalid expand shape'))).toBe(true);
    expect(isBatchShapeFailure(new Error('Failed to allocate memory for requested buffer of size 1073741824'))).toBe(false);
    expect(isBatchShapeFailure(new Error('the onnxruntime worker thread exited (code 1)'))).toBe(false);
  });
});
