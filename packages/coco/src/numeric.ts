// numpy's float64 summation order (pairwise in blocks of 8, reductions fed in chunks of
// 8192), so sums and means agree with pycocotools to the last bit, not just to 1e-12.

const NPY_BUFSIZE = 8192;

function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = -0.0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    const end = n - (n % 8);
    for (; i < end; i += 8) {
      const o = start + i;
      r0 += a[o]; r1 += a[o + 1]; r2 += a[o + 2]; r3 += a[o + 3];
      r4 += a[o + 4]; r5 += a[o + 5]; r6 += a[o + 6]; r7 += a[o + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
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
