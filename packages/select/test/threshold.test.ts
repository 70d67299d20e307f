import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countMatchThreshold } from '@omnidistill/select';

/** Brute-force oracle: try every distinct score (and "keep nothing"), pick the closest count, fewer on ties. */
function bruteForce(scores: number[], units: number, target: number): { threshold: number | null; kept: number } {
  const ideal = target * units;
  let best: { threshold: number | null; kept: number } = { threshold: null, kept: 0 };
  const candidates = [...new Set(scores)].sort((a, b) => b - a);
  for (const t of candidates) {
    const kept = scores.filter((s) => s >= t).length;
    if (Math.abs(kept - ideal) < Math.abs(best.kept - ideal) - 1e-9 * Math.max(1, ideal)) best = { threshold: t, kept };
  }
  return best;
}

describe('countMatchThreshold', () => {
  it('keeps the top scores whose count per unit matches the target', () => {
    const r = countMatchThreshold([0.3, 0.9, 0.2, 0.8], 2, 1);
    expect(r).toMatchObject({ threshold: 0.8, kept: 2, status: 'matched', before: 2, after: 1, candidates: 4, units: 2 });
  });

  it('keeps or drops a tie group whole and prefers the smaller count when equally close', () => {
    // Possible counts 0, 1, 3; ideal 2 is equally close to 1 and 3: the higher threshold wins.
    expect(countMatchThreshold([0.9, 0.5, 0.5], 1, 2)).toMatchObject({ threshold: 0.9, kept: 1, tiedAtThreshold: 1 });
    // Ideal 2.4 is closer to 3: the whole tie group at 0.5 is kept.
    expect(countMatchThreshold([0.9, 0.5, 0.5], 1, 2.4)).toMatchObject({ threshold: 0.5, kept: 3, tiedAtThreshold: 2 });
    // All scores tied: only 0 or all are possible.
    // All scores tied: only 0 or all are possible, and neither is a calibrated choice.
    expect(countMatchThreshold([0.7, 0.7, 0.7, 0.7], 4, 0.4)).toMatchObject({ threshold: null, kept: 0, status: 'tied' });
    expect(countMatchThreshold([0.7, 0.7, 0.7, 0.7], 4, 0.6)).toMatchObject({ threshold: 0.7, kept: 4, status: 'tied' });
    expect(countMatchThreshold([0.7, 0.7, 0.7, 0.7], 1, 9)).toMatchObject({ threshold: 0.7, kept: 4, status: 'tied' });
    // A top tie group that overshoots the target: nothing kept, reported as tied.
    expect(countMatchThreshold([0.9, 0.9, 0.9, 0.1], 4, 0.25)).toMatchObject({ threshold: null, kept: 0, status: 'tied' });
    // Keeping nothing because the target is below half a prediction is a real match.
    expect(countMatchThreshold([0.9, 0.5], 10, 0.04)).toMatchObject({ threshold: null, kept: 0, status: 'matched' });
  });

  it('keeps everything and says so when the target asks for more than there is', () => {
    const r = countMatchThreshold([0.4, 0.1], 2, 5);
    expect(r).toMatchObject({ threshold: 0.1, kept: 2, status: 'exhausted', after: 1 });
  });

  it('keeps nothing for a zero target, no scores, or no units', () => {
    expect(countMatchThreshold([0.4, 0.1], 2, 0)).toMatchObject({ threshold: null, kept: 0, status: 'matched' });
    expect(countMatchThreshold([], 3, 1)).toMatchObject({ threshold: null, kept: 0, status: 'no-candidates', before: 0 });
    expect(countMatchThreshold([], 0, 1)).toMatchObject({ threshold: null, status: 'no-candidates', before: 0, after: 0 });
  });

  it('works with negative logits as scores', () => {
    expect(countMatchThreshold([-3, -1, -2, 4], 1, 2)).toMatchObject({ threshold: -1, kept: 2 });
  });

  it('agrees with a brute-force search on random inputs (including many ties)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0, max: 6, noNaN: true }),
        (ints, units, target) => {
          const scores = ints.map((v) => v / 4);
          const r = countMatchThreshold(scores, units, target);
          const oracle = bruteForce(scores, units, target);
          expect(r.kept).toBe(oracle.kept);
          expect(r.threshold).toBe(oracle.threshold);
          expect(r.kept).toBe(scores.filter((s) => r.threshold !== null && s >= r.threshold).length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('samples a non-increasing curve from all kept to the top score', () => {
    const scores = [0.1, 0.2, 0.2, 0.5, 0.9];
    const r = countMatchThreshold(scores, 5, 0.4, { curveSamples: 9 });
    expect(r.curve.thresholds).toHaveLength(9);
    expect(r.curve.thresholds[0]).toBe(0.1);
    expect(r.curve.thresholds[8]).toBe(0.9);
    expect(r.curve.perUnit[0]).toBe(1);
    expect(r.curve.perUnit[8]).toBe(0.2);
    for (let i = 1; i < 9; i++) expect(r.curve.perUnit[i]).toBeLessThanOrEqual(r.curve.perUnit[i - 1]);
    r.curve.thresholds.forEach((t, i) => expect(r.curve.perUnit[i]).toBe(scores.filter((s) => s >= t).length / 5));
  });

  it('rejects bad input with the path, expectation and received value', () => {
    expect(() => countMatchThreshold([0.1, Number.NaN], 1, 1)).toThrow('scores[1]: expected a finite number, received NaN (number)');
    expect(() => countMatchThreshold([0.1], 1, -1)).toThrow('target: expected a number >= 0, received -1 (number)');
    expect(() => countMatchThreshold([0.1], 1.5, 1)).toThrow('units: expected an integer >= 0, received 1.5 (number)');
    expect(() => countMatchThreshold([0.1], 1, 1, { curveSamples: 1 })).toThrow('options.curveSamples');
  });
});
