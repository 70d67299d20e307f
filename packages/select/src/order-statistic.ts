// The k-th largest of a collection of finite numbers that is read again rather than held: a
// radix select over the order-preserving 64-bit pattern of each float64, 16 bits per pass
// (4 passes, one 65536-bin histogram). Exact, O(bins) memory whatever the number of values,
// so count matching over millions of scores never sorts them in memory.

/**
 * Visits every value of a collection once per call, in any order, the same values each time
 * (e.g. a scratch file read from the start). Values must be finite.
 */
export type ValueScan = (visit: (value: number) => void) => Promise<void>;

/** A scan over an in-memory array (tests, small inputs). */
export function arrayScan(values: ArrayLike<number>): ValueScan {
  return async (visit) => {
    for (let i = 0; i < values.length; i++) visit(values[i]);
  };
}

const DIGIT_BITS = 16;
const BINS = 1 << DIGIT_BITS;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Splits floats into the two 32-bit halves of a key whose unsigned order is the numeric order. */
class KeyMaker {
  private readonly f = new Float64Array(1);
  private readonly u = new Uint32Array(this.f.buffer);
  hi = 0;
  lo = 0;
  /** Sets `hi`/`lo` to the key of `value` (-0 and +0 share the key of +0). */
  set(value: number): void {
    this.f[0] = value + 0; // -0 + 0 is +0: equal numbers, one key
    const a = this.u[LITTLE_ENDIAN ? 1 : 0];
    const b = this.u[LITTLE_ENDIAN ? 0 : 1];
    if (a & 0x80000000) {
      // negative: flip every bit, so larger magnitudes sort lower
      this.hi = ~a >>> 0;
      this.lo = ~b >>> 0;
    } else {
      this.hi = (a | 0x80000000) >>> 0;
      this.lo = b;
    }
  }
  /** The float whose key is (`hi`, `lo`). */
  valueOf(hi: number, lo: number): number {
    let a: number;
    let b: number;
    if (hi & 0x80000000) {
      a = (hi & 0x7fffffff) >>> 0;
      b = lo;
    } else {
      a = ~hi >>> 0;
      b = ~lo >>> 0;
    }
    this.u[LITTLE_ENDIAN ? 1 : 0] = a;
    this.u[LITTLE_ENDIAN ? 0 : 1] = b;
    return this.f[0];
  }
}

/** The k-th largest value and how many values are above it and equal to it. */
export interface RankedValue {
  value: number;
  /** Values strictly greater than `value`. */
  above: number;
  /** Values equal to `value` (at least 1). */
  equal: number;
}

/**
 * The `rank`-th largest value (1 = the maximum) of the `count` values of `scan`, by four
 * histogram passes over the 16-bit digits of the values' order-preserving keys.
 *
 * @example
 * await kthLargest(arrayScan([0.2, 0.9, 0.5, 0.9]), 4, 2) // { value: 0.9, above: 0, equal: 2 }
 */
export async function kthLargest(scan: ValueScan, count: number, rank: number): Promise<RankedValue> {
  if (!Number.isInteger(rank) || rank < 1 || rank > count) throw new RangeError(`rank: expected an integer in [1, ${count}], received ${rank}`);
  const keys = new KeyMaker();
  const histogram = new Float64Array(BINS);
  let hiPrefix = 0; // the digits chosen so far, as the top bits of hi, then of lo
  let loPrefix = 0;
  let remaining = rank; // rank within the values that share the chosen digits
  let above = 0;
  let equal = 0;
  for (let pass = 0; pass < 4; pass++) {
    histogram.fill(0);
    await scan((value) => {
      keys.set(value);
      const { hi, lo } = keys;
      let digit: number;
      if (pass === 0) digit = hi >>> 16;
      else if (pass === 1) {
        if (hi >>> 16 !== hiPrefix) return;
        digit = hi & 0xffff;
      } else if (pass === 2) {
        if (hi !== hiPrefix) return;
        digit = lo >>> 16;
      } else {
        if (hi !== hiPrefix || lo >>> 16 !== loPrefix) return;
        digit = lo & 0xffff;
      }
      histogram[digit]++;
    });
    // Walk the bins from the top: the chosen one is where the remaining rank falls.
    let bin = BINS - 1;
    while (bin > 0 && histogram[bin] < remaining) {
      remaining -= histogram[bin];
      above += histogram[bin];
      bin--;
    }
    if (pass === 0) hiPrefix = bin;
    else if (pass === 1) hiPrefix = ((hiPrefix << 16) | bin) >>> 0;
    else if (pass === 2) loPrefix = bin;
    else {
      loPrefix = ((loPrefix << 16) | bin) >>> 0;
      equal = histogram[bin];
    }
  }
  if (equal < remaining) throw new Error(`kthLargest: the scan gave other values on another pass (rank ${rank} of ${count} not found)`);
  return { value: keys.valueOf(hiPrefix, loPrefix), above, equal };
}

/** The smallest value strictly greater than `bound` and how many values equal it (null if none is greater). */
export async function nextAbove(scan: ValueScan, bound: number): Promise<{ value: number; equal: number } | null> {
  let best = Infinity;
  let equal = 0;
  await scan((value) => {
    if (value <= bound) return;
    if (value < best) {
      best = value;
      equal = 1;
    } else if (value === best) equal++;
  });
  return equal === 0 ? null : { value: best, equal };
}
