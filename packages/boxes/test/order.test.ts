// The score order every NMS variant visits boxes in: a stable descending radix sort on float32
// bit patterns, checked against a comparator sort on both digit widths (8-bit passes below 1k
// scores, 11-bit from 1k), with passes skipped when a digit is constant.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { orderByScoreDesc } from '../src/order.js';

/** The order by definition: descending score, ties by ascending index. */
function comparatorOrder(scores: ArrayLike<number>, subset?: Int32Array): number[] {
  const idx = subset ? Array.from(subset) : Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => scores[b] - scores[a] || a - b);
}

const scoresArb = fc.record({
  n: fc.constantFrom(0, 1, 7, 300, 1023, 1024, 2500),
  levels: fc.integer({ min: 1, max: 5000 }),
  negative: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 2 }),
}).map(({ n, levels, negative, seed }) => {
  let s = seed;
  const next = () => (s = (s * 48271) % 2147483647) / 2147483647;
  // Coarse levels give exact ties; signed zeros must tie with each other.
  return Float32Array.from({ length: n }, (_, i) => (i % 97 === 5 ? -0 : Math.floor(next() * levels) / levels - (negative ? 0.5 : 0)));
});

describe('orderByScoreDesc', () => {
  it('equals the comparator order on float32 scores, float64 copies and subsets, both digit widths', () => {
    fc.assert(
      fc.property(scoresArb, (scores) => {
        expect(Array.from(orderByScoreDesc(scores))).toEqual(comparatorOrder(scores));
        const wide = Float64Array.from(scores);
        expect(Array.from(orderByScoreDesc(wide))).toEqual(comparatorOrder(wide));
        const subset = Int32Array.from({ length: scores.length >> 1 }, (_, i) => 2 * i + 1);
        expect(Array.from(orderByScoreDesc(scores, subset))).toEqual(comparatorOrder(scores, subset));
      }),
      { numRuns: 60 },
    );
  });

  it('keeps input order when every score is equal (every pass skipped)', () => {
    for (const n of [5, 1500]) {
      expect(Array.from(orderByScoreDesc(new Float32Array(n).fill(0.25)))).toEqual(comparatorOrder(new Float32Array(n)));
      const subset = Int32Array.from([1, 3, 4]);
      expect(Array.from(orderByScoreDesc(new Float32Array(n).fill(0.25), subset))).toEqual([1, 3, 4]);
    }
  });

  it('scores that are not float32 values take the comparator path with the same result', () => {
    const scores = Float64Array.from([0.1, 0.30000000000000004, 0.3, 0.1, 1e-300, -1e-300]);
    expect(Array.from(orderByScoreDesc(scores))).toEqual(comparatorOrder(scores));
  });
});
