// Count matching: the score threshold whose kept count per unit is closest to a target.
// One primitive serves every threshold of REFERENCE.md §1 step 4 (instances per image,
// per category, keypoints per kept instance).
import { OmniRangeError, expectAllFinite, expectFiniteNumber, expectInteger } from '@omnidistill/core';
import type { ThresholdChoice, ThresholdCurve } from './types.js';

/** Options of {@link countMatchThreshold}. */
export interface CountMatchOptions {
  /** Number of evenly spaced thresholds sampled for the curve (default 101, at least 2). */
  curveSamples?: number;
}

/**
 * Picks the threshold `t` (keep iff `score >= t`) whose kept count per unit is closest
 * to `target`.
 *
 * Rules, so that nobody has to guess:
 * - Only counts a threshold can produce are candidates: a group of equal scores is kept
 *   or dropped whole, so with scores `[0.9, 0.5, 0.5]` the possible counts are 0, 1, 3.
 * - The ideal count is `target * units`; the candidate with the smallest distance to it
 *   wins. When two candidates are equally close, the smaller count (higher threshold)
 *   wins: fewer, more confident labels.
 * - The threshold is the lowest kept score, so it is always one of the scores; keeping
 *   nothing is `threshold: null`.
 * - More asked than available (`target * units > scores.length`): everything is kept,
 *   status `exhausted`. No scores or no units: nothing is kept, status `no-candidates`.
 * - Scores that cannot rank (all equal, or a top tie group that overshoots the target so
 *   nothing is kept): status `tied`, never `matched`.
 *
 * @example
 * countMatchThreshold(new Float64Array([0.9, 0.8, 0.3, 0.2]), 2, 1) // threshold 0.8, kept 2
 */
export function countMatchThreshold(
  scores: ArrayLike<number>,
  units: number,
  target: number,
  options: CountMatchOptions = {},
): ThresholdChoice {
  expectInteger(units, 'units', 0);
  expectFiniteNumber(target, 'target');
  if (target < 0) throw new OmniRangeError('target', 'a number >= 0', target);
  expectAllFinite(scores, 'scores');
  const samples = options.curveSamples ?? 101;
  expectInteger(samples, 'options.curveSamples', 2);

  const sorted = Float64Array.from(scores).sort(); // ascending
  const n = sorted.length;
  const curve = sampleCurve(sorted, units, samples);
  const before = units === 0 ? 0 : n / units;
  const base = { target, units, candidates: n, before, curve };

  if (n === 0 || units === 0) {
    return { ...base, threshold: null, status: 'no-candidates', kept: 0, after: 0, tiedAtThreshold: 0 };
  }
  const ideal = target * units;
  const allTied = n > 1 && sorted[0] === sorted[n - 1];
  if (ideal >= n) {
    const tied = countEqual(sorted, sorted[0]);
    const status = allTied ? 'tied' : ideal > n ? 'exhausted' : 'matched';
    return { ...base, threshold: sorted[0], status, kept: n, after: n / units, tiedAtThreshold: tied };
  }

  // Walk tie groups from the highest score down; each group end is an achievable count.
  let bestKept = 0;
  let bestDistance = ideal; // distance of keeping nothing
  let kept = 0;
  let i = n - 1;
  while (i >= 0) {
    const value = sorted[i];
    while (i >= 0 && sorted[i] === value) i--;
    kept = n - 1 - i;
    const distance = Math.abs(kept - ideal);
    // Strictly closer only: an equally close larger count loses to the smaller one.
    if (distance < bestDistance - 1e-9 * Math.max(1, ideal)) {
      bestDistance = distance;
      bestKept = kept;
    }
    if (kept >= ideal) break; // larger counts only move further away
  }
  if (bestKept === 0) {
    // Keeping nothing is a match only when the target asks for (almost) nothing; otherwise
    // the top tie group overshot it and the scores could not rank the predictions.
    const status = ideal > 0 && (allTied || countEqual(sorted, sorted[n - 1]) > 1) ? 'tied' : 'matched';
    return { ...base, threshold: null, status, kept: 0, after: 0, tiedAtThreshold: 0 };
  }
  const threshold = sorted[n - bestKept];
  return {
    ...base,
    threshold,
    status: allTied ? 'tied' : 'matched',
    kept: bestKept,
    after: bestKept / units,
    tiedAtThreshold: countEqual(sorted, threshold),
  };
}

/** Whether a score is kept by a threshold choice (`null` keeps nothing). */
export function passes(score: number, threshold: number | null): boolean {
  return threshold !== null && score >= threshold;
}

/** Number of elements equal to `value` in an ascending array. */
function countEqual(sorted: Float64Array, value: number): number {
  return upperBound(sorted, value) - lowerBound(sorted, value);
}

/** First index whose element is >= value. */
function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose element is > value (`sorted` ascending). */
export function upperBound(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Kept count per unit at `samples` thresholds evenly spaced over [min score, max score]
 * (a single score gives one point; no scores give an empty curve).
 */
function sampleCurve(sorted: Float64Array, units: number, samples: number): ThresholdCurve {
  const n = sorted.length;
  if (n === 0) return { thresholds: [], perUnit: [] };
  const lo = sorted[0];
  const hi = sorted[n - 1];
  const count = lo === hi ? 1 : samples;
  const thresholds: number[] = [];
  const perUnit: number[] = [];
  for (let j = 0; j < count; j++) {
    // The last sample is exactly the max so the curve ends at the top score's count.
    const t = j === count - 1 ? hi : lo + ((hi - lo) * j) / (count - 1);
    thresholds.push(t);
    perUnit.push(units === 0 ? 0 : (n - lowerBound(sorted, t)) / units);
  }
  return { thresholds, perUnit };
}
