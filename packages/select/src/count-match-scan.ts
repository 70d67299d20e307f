// Count matching over scores that are scanned, not held: the same choice, curve and numbers as
// countMatchThreshold (threshold.ts, the sort-based reference), from a few passes over a
// scratch column (order-statistic.ts), so calibration memory does not grow with the images.
import { OmniRangeError, expectFiniteNumber, expectInteger } from '@omnidistill/core';
import { kthLargest, nextAbove, type ValueScan } from './order-statistic.js';
import { upperBound, type CountMatchOptions } from './threshold.js';
import type { ThresholdChoice, ThresholdCurve } from './types.js';

/** What one pass learns: how many values, the extremes and how often each occurs. */
interface ScanStats {
  n: number;
  min: number;
  max: number;
  countMin: number;
  countMax: number;
}

/** One pass: the count and extremes; a non-finite value is refused like expectAllFinite does. */
async function scanStats(scan: ValueScan, path: string): Promise<ScanStats> {
  const s: ScanStats = { n: 0, min: Infinity, max: -Infinity, countMin: 0, countMax: 0 };
  await scan((v) => {
    if (!Number.isFinite(v)) throw new OmniRangeError(`${path}[${s.n}]`, 'a finite number', v);
    s.n++;
    if (v < s.min) [s.min, s.countMin] = [v, 1];
    else if (v === s.min) s.countMin++;
    if (v > s.max) [s.max, s.countMax] = [v, 1];
    else if (v === s.max) s.countMax++;
  });
  return s;
}

/** The thresholds the reference samples (evenly spaced over [min, max], the last exactly max). */
function curveThresholds(stats: ScanStats, samples: number): number[] {
  if (stats.n === 0) return [];
  const { min: lo, max: hi } = stats;
  const count = lo === hi ? 1 : samples;
  return Array.from({ length: count }, (_, j) => (j === count - 1 ? hi : lo + ((hi - lo) * j) / (count - 1)));
}

/** One pass: `count(score >= t) / units` at each sampled threshold. */
async function scanCurve(scan: ValueScan, stats: ScanStats, units: number, samples: number): Promise<ThresholdCurve> {
  const thresholds = curveThresholds(stats, samples);
  const atLeast = new Float64Array(thresholds.length);
  const increasing = thresholds.every((t, j) => j === 0 || thresholds[j - 1] <= t);
  await scan((v) => {
    if (increasing) {
      // thresholds[0 … m-1] are <= v: v counts for each of them (summed below)
      const m = upperBound(thresholds, v);
      if (m > 0) atLeast[m - 1]++;
    } else {
      for (let j = 0; j < thresholds.length; j++) if (v >= thresholds[j]) atLeast[j]++;
    }
  });
  if (increasing) for (let j = thresholds.length - 2; j >= 0; j--) atLeast[j] += atLeast[j + 1];
  return { thresholds, perUnit: Array.from(atLeast, (c) => (units === 0 ? 0 : c / units)) };
}

/**
 * {@link countMatchThreshold} over the values of `scan` (read 2–7 times, never held): the
 * same `ThresholdChoice`, serialised byte for byte, as the sort-based reference. The
 * choice between the two counts around the ideal uses the reference's tolerance; it equals
 * the reference's walk over every tie group whenever fewer than 10⁹ predictions are kept
 * (beyond that the reference's tolerance exceeds one prediction).
 */
export async function countMatchScan(scan: ValueScan, units: number, target: number, options: CountMatchOptions = {}, path = 'scores'): Promise<ThresholdChoice> {
  expectInteger(units, 'units', 0);
  expectFiniteNumber(target, 'target');
  if (target < 0) throw new OmniRangeError('target', 'a number >= 0', target);
  const stats = await scanStats(scan, path);
  const samples = options.curveSamples ?? 101;
  expectInteger(samples, 'options.curveSamples', 2);

  const n = stats.n;
  const curve = await scanCurve(scan, stats, units, samples);
  const before = units === 0 ? 0 : n / units;
  const base = { target, units, candidates: n, before, curve };
  if (n === 0 || units === 0) {
    return { ...base, threshold: null, status: 'no-candidates', kept: 0, after: 0, tiedAtThreshold: 0 };
  }
  const ideal = target * units;
  const allTied = n > 1 && stats.min === stats.max;
  if (ideal >= n) {
    const status = allTied ? 'tied' : ideal > n ? 'exhausted' : 'matched';
    return { ...base, threshold: stats.min, status, kept: n, after: n / units, tiedAtThreshold: stats.countMin };
  }

  // The tie group holding the ceil(ideal)-th largest score ends at the smallest achievable
  // count >= ideal; the group above it ends at the largest achievable count < ideal.
  const ranked = await kthLargest(scan, n, Math.max(1, Math.ceil(ideal)));
  const below = ranked.above; // largest achievable count under the ideal (0: keep nothing)
  const over = ranked.above + ranked.equal;
  const tolerance = 1e-9 * Math.max(1, ideal);
  const bestKept = Math.abs(over - ideal) < Math.abs(below - ideal) - tolerance ? over : below;
  if (bestKept === 0) {
    const status = ideal > 0 && (allTied || stats.countMax > 1) ? 'tied' : 'matched';
    return { ...base, threshold: null, status, kept: 0, after: 0, tiedAtThreshold: 0 };
  }
  const at = bestKept === over ? ranked : await nextAbove(scan, ranked.value);
  return {
    ...base,
    threshold: at!.value,
    status: allTied ? 'tied' : 'matched',
    kept: bestKept,
    after: bestKept / units,
    tiedAtThreshold: at!.equal,
  };
}
