import { describe, expect, it } from 'vitest';
import { consecutiveBatches } from '../src/transform-batch.js';

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
