// numpy's float64 summation order (pairwise in blocks of 8, reductions fed in chunks of
// 8192), so sums and means agree with pycocotools to the last bit, not just to 1e-12.

const NPY_BUFSIZE = 8192;

// One tail loop serves both n < 8 (the whole sum, from -0.0) and the remainder after the
// unrolled blocks: a branch taken rarely (an OKS over fewer than 8 labeled keypoints) then
// has no statements of its own, so optimised code that never saw it does not deoptimise
// when it comes (it did, 9 times per 5k-image keypoint evaluation, each a recompile of oks).
function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n > 128) {
    let n2 = Math.floor(n / 2);
    n2 -= n2 % 8;
    return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
  }
  let res = -0.0;
  let i = 0;
  if (n >= 8) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    const end = n - (n % 8);
    for (i = 8; i < end; i += 8) {
      const o = start + i;
      r0 += a[o]; r1 += a[o + 1]; r2 += a[o + 2]; r3 += a[o + 3];
      r4 += a[o + 4]; r5 += a[o + 5]; r6 += a[o + 6]; r7 += a[o + 7];
    }
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
  }
  for (; i < n; i++) res += a[start + i];
  return res;
}

/** `np.sum` of the first `n` values of a contiguous float64 array. */
export function npSum(a: ArrayLike<number>, n: number = a.length): number {
  let res = 0;
  for (let start = 0; start < n; start += NPY_BUFSIZE) {
    res += pairwiseSum(a, start, Math.min(NPY_BUFSIZE, n - start));
  }
  return res;
}

/** `np.spacing(1)`: the gap between 1 and the next double (pycocotools' epsilon). */
export const NP_SPACING_1 = 2.220446049250313e-16;
