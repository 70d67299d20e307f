// Bounds of a bicubic resize over a group of output positions at once. Output positions of one
// axis whose 4 source taps are the same (clamped) indices form a group: they differ only in the
// weights. For a group and values R_i in [lo_i, hi_i] at its 4 taps, every output
// v = sum_i w_i R_i satisfies, for any reference value M,
//   v = M * sum_i w_i + sum_i w_i (R_i - M)
//     <= max over the group of M * sum + sum_i max(w_i (hi_i - M), w_i (lo_i - M))
// with each w_i over its range in the group: each term is linear in w_i and in R_i, so its
// largest value is at a corner of the two ranges. Taking M as the larger central hi gives the
// interpolated maximum plus the overshoot of the negative lobes: about as tight as bounding
// each output position alone, at a quarter of the cost when the resize upsamples 4x.
// The bound is exact arithmetic evaluated in double; callers add a slack for float32 rounding.

/** Output positions along one axis grouped by identical source taps, with each tap's weight range. */
export interface AxisGroups {
  count: number;
  /** count + 1 entries: the first output position of each group, then the axis size. */
  start: Int32Array;
  /** 4 per group: the source indices (clamped). */
  tap: Int32Array;
  /**
   * 4 per group: the weight range [lo, hi] of each tap over the group's positions as its middle
   * (lo + hi) / 2 and half-width (hi - lo) / 2, so that max(lo d, hi d) = mid d + half |d| without
   * a branch (on noise-like maps the branches of a max are unpredictable).
   */
  mid: Float64Array;
  half: Float64Array;
  /** Per group: the range of the weight sums (1 up to float32 rounding), likewise. */
  sumMid: Float64Array;
  sumHalf: Float64Array;
  /** The largest sum of |w| at one position: scales the float32 rounding slack. */
  absMax: number;
  /** The largest sumHalf: M (sum - sumMid) <= |M| sumHalfMax. */
  sumHalfMax: number;
  /**
   * Per group: -2 min(wMin_1, wMin_2). At M = the larger of two central values the central taps add
   * w_1 (v_1 - M) + w_2 (v_2 - M) = -2 h w (one difference is 0, the other -2 h, h half their
   * distance) <= centre h: usually negative (a group's positions do not reach t = 0 or 1).
   */
  centre: Float64Array;
  /**
   * Per group, 2 values: the largest |w| of the outer taps 0 and 3, for quickBound; NaN (no quick
   * bound) where the group's outer weights are not all <= 0 or its inner ones not all >= 0.
   */
  outer: Float64Array;
}

/** Groups the `size` outputs of one resized axis (cubicAxis's `index` and `weight`). */
export function axisGroups(index: Int32Array, weight: Float32Array, size: number): AxisGroups {
  const starts: number[] = [];
  for (let i = 0; i < size; i++) {
    let same = i > 0;
    for (let j = 0; j < 4 && same; j++) same = index[4 * i + j] === index[4 * i - 4 + j];
    if (!same) starts.push(i);
  }
  const count = starts.length;
  starts.push(size);
  const tap = new Int32Array(4 * count), mid = new Float64Array(4 * count), half = new Float64Array(4 * count);
  const sumMid = new Float64Array(count), sumHalf = new Float64Array(count), centre = new Float64Array(count), outer = new Float64Array(2 * count);
  let absMax = 0, sumHalfMax = 0;
  for (let g = 0; g < count; g++) {
    const lo = [Infinity, Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity, -Infinity];
    let sumLo = Infinity, sumHi = -Infinity;
    for (let i = starts[g]; i < starts[g + 1]; i++) {
      let sum = 0, abs = 0;
      for (let j = 0; j < 4; j++) {
        const w = weight[4 * i + j];
        lo[j] = Math.min(lo[j], w);
        hi[j] = Math.max(hi[j], w);
        sum += w;
        abs += Math.abs(w);
      }
      sumLo = Math.min(sumLo, sum);
      sumHi = Math.max(sumHi, sum);
      absMax = Math.max(absMax, abs);
    }
    for (let j = 0; j < 4; j++) {
      tap[4 * g + j] = index[4 * starts[g] + j];
      mid[4 * g + j] = (lo[j] + hi[j]) / 2;
      half[4 * g + j] = (hi[j] - lo[j]) / 2;
    }
    sumMid[g] = (sumLo + sumHi) / 2;
    sumHalf[g] = (sumHi - sumLo) / 2;
    sumHalfMax = Math.max(sumHalfMax, sumHalf[g]);
    centre[g] = -2 * Math.min(lo[1], lo[2]);
    const signed = hi[0] <= 0 && hi[3] <= 0 && lo[1] >= 0 && lo[2] >= 0;
    outer[2 * g] = signed ? -lo[0] : NaN;
    outer[2 * g + 1] = signed ? -lo[3] : NaN;
  }
  return { count, start: Int32Array.from(starts), tap, mid, half, sumMid, sumHalf, absMax, sumHalfMax, centre, outer };
}

/** The largest w * delta over w with middle `mid` and half-width `half`, delta in [e, d]: max(mid d + half |d|, mid e + half |e|), without a branch. */
function termMax(mid: number, half: number, d: number, e: number): number {
  const p = mid * d + half * Math.abs(d), q = mid * e + half * Math.abs(e);
  return (p + q + Math.abs(p - q)) / 2;
}

/** Upper bound (exact arithmetic, no slack) of the outputs of group g given each tap's values in [lo_i, hi_i]. */
export function groupBound(groups: AxisGroups, g: number, hi0: number, lo0: number, hi1: number, lo1: number, hi2: number, lo2: number, hi3: number, lo3: number): number {
  const { mid, half } = groups;
  const a = 4 * g;
  const top = (hi1 + hi2 + Math.abs(hi1 - hi2)) / 2;
  return (
    groups.sumMid[g] * top + groups.sumHalf[g] * Math.abs(top) +
    (termMax(mid[a], half[a], hi0 - top, lo0 - top) + termMax(mid[a + 1], half[a + 1], hi1 - top, lo1 - top)) +
    (termMax(mid[a + 2], half[a + 2], hi2 - top, lo2 - top) + termMax(mid[a + 3], half[a + 3], hi3 - top, lo3 - top))
  );
}

/**
 * A cheaper and looser upper bound than groupBound (exact arithmetic; NaN where the group's
 * weights do not have the usual signs): with M the larger inner hi, the inner taps add at most 0
 * (weights >= 0, values <= M) and each outer tap at most |w|max (M - lo)+ (weights <= 0). It
 * only needs the inner taps' hi and the outer taps' lo.
 */
export function quickBound(groups: AxisGroups, g: number, lo0: number, hi1: number, hi2: number, lo3: number): number {
  const top = (hi1 + hi2 + Math.abs(hi1 - hi2)) * 0.5;
  const d0 = top - lo0, d3 = top - lo3;
  return groups.sumMid[g] * top + groups.sumHalf[g] * Math.abs(top) + (groups.outer[2 * g] * (d0 + Math.abs(d0)) + groups.outer[2 * g + 1] * (d3 + Math.abs(d3))) * 0.5;
}

/**
 * Bounds of every (source row, block) of a map resized along x, from the source samples alone
 * (no resizing): per x-group, with M the larger central sample (c + h, c and h the middle and
 * half distance of the two, no branch), upper = M sumMid + centre h + the two outer taps'
 * mid d + half |d| (d = sample - M) + `constant` (slack and M (sum - sumMid)); the lower bound
 * mirrors it at c - h. A block's bounds are the hull over its groups (blockStart: the first
 * group of each block, then groups.count), taken as (a + b + |a - b|) / 2 without a branch: within
 * 2 ulp of the maximum, which the caller's relative slack covers. One loop over a row's groups
 * (not one per block: blocks hold about 4 groups) measured 1.6x faster.
 */
export function sourceBlockBounds(map: Float32Array, offset: number, m: number, x: AxisGroups, blockStart: Int32Array, constant: number, hi: Float64Array, lo: Float64Array): void {
  const { tap, mid, half, sumMid, centre, count } = x;
  const blocks = blockStart.length - 1;
  for (let r = 0, src = offset, cell = 0; r < m; r++, src += m) {
    let up = 0, down = 0, first = 0, block = 0;
    for (let g = 0, a = 0; g < count; g++, a += 4) {
      const s0 = map[src + tap[a]], s1 = map[src + tap[a + 1]], s2 = map[src + tap[a + 2]], s3 = map[src + tap[a + 3]];
      const c = (s1 + s2) * 0.5, h = Math.abs(s1 - s2) * 0.5;
      const top = c + h, bottom = c - h;
      const d0 = s0 - top, d3 = s3 - top, e0 = s0 - bottom, e3 = s3 - bottom;
      const m0 = mid[a], h0 = half[a], m3 = mid[a + 3], h3 = half[a + 3], sum = sumMid[g], spread = centre[g] * h;
      const u = sum * top + spread + (m0 * d0 + h0 * Math.abs(d0) + (m3 * d3 + h3 * Math.abs(d3)));
      const l = sum * bottom - spread + (m0 * e0 - h0 * Math.abs(e0) + (m3 * e3 - h3 * Math.abs(e3)));
      if (g === first) {
        up = u;
        down = l;
      } else {
        up = (up + u + Math.abs(up - u)) * 0.5;
        down = (down + l - Math.abs(down - l)) * 0.5;
      }
      if (g + 1 === blockStart[block + 1]) {
        hi[cell] = up + constant;
        lo[cell++] = down - constant;
        first = g + 1;
        block = block + 1 === blocks ? 0 : block + 1;
      }
    }
  }
}

/** Blocks of consecutive groups spanning at most `width` positions each (a wider group is a block alone): each block's first group, then count. */
export function groupBlocks(groups: AxisGroups, width: number): Int32Array {
  const starts = [0];
  for (let g = 1; g < groups.count; g++) {
    if (groups.start[g + 1] - groups.start[starts[starts.length - 1]] > width) starts.push(g);
  }
  starts.push(groups.count);
  return Int32Array.from(starts);
}
