// NumPy's generic (non-SIMD) introsort `argsort(kind='quicksort')` for float64, written from
// its description (median-of-3 quicksort, insertion sort for small segments, heapsort past
// the depth limit) and checked against NumPy itself (test/support/numpy-argsort-cases.json,
// recorded by tools/boxes-fixtures/numpy_argsort_ties.py). ensemble_boxes orders boxes with
// `argsort()[::-1]`, an UNSTABLE sort, so the order of equal scores is whatever this
// algorithm produces: `sortDescending: 'numpy'` uses it to reproduce upstream exactly.

function less(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

function heapsort(v: ArrayLike<number>, a: Int32Array, lo: number, n: number): void {
  // 1-based heap on a[lo .. lo + n - 1]
  const at = (i: number) => lo + i - 1;
  /** Moves `tmp` down from heap position i within a heap of size `size`. */
  const siftDown = (tmp: number, i: number, size: number): void => {
    let j = i << 1;
    while (j <= size) {
      if (j < size && less(v[a[at(j)]], v[a[at(j + 1)]])) j += 1;
      if (less(v[tmp], v[a[at(j)]])) {
        a[at(i)] = a[at(j)];
        i = j;
        j += j;
      } else break;
    }
    a[at(i)] = tmp;
  };
  for (let l = n >> 1; l > 0; --l) siftDown(a[at(l)], l, n);
  for (; n > 1; ) {
    const tmp = a[at(n)];
    a[at(n)] = a[at(1)];
    n -= 1;
    siftDown(tmp, 1, n);
  }
}

function msb(n: number): number {
  let d = 0;
  while (n > 1) {
    n >>= 1;
    d++;
  }
  return d;
}

/** `np.argsort(v)` (ascending, kind='quicksort', generic path). */
// Partitions run while a segment has more than 16 elements (pr - pl > 15); checked against
// NumPy 2.4 with its SIMD sorts disabled (NPY_DISABLE_CPU_FEATURES=X86_V3) on tie-heavy arrays.
const SMALL = 15;
export function numpyArgsort(v: ArrayLike<number>): Int32Array {
  const num = v.length;
  const a = new Int32Array(num);
  for (let i = 0; i < num; i++) a[i] = i;
  if (num < 2) return a;
  const swap = (i: number, j: number) => {
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  };
  let pl = 0;
  let pr = num - 1;
  const stack: number[] = [];
  const depth: number[] = [];
  let cdepth = msb(num) * 2;
  for (;;) {
    let popped = false;
    if (cdepth < 0) {
      heapsort(v, a, pl, pr - pl + 1);
      popped = true;
    }
    if (!popped) {
      while (pr - pl > SMALL) {
        const pm = pl + ((pr - pl) >> 1);
        if (less(v[a[pm]], v[a[pl]])) swap(pm, pl);
        if (less(v[a[pr]], v[a[pm]])) swap(pr, pm);
        if (less(v[a[pm]], v[a[pl]])) swap(pm, pl);
        const vp = v[a[pm]];
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi;
          while (less(v[a[pi]], vp));
          do --pj;
          while (less(vp, v[a[pj]]));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depth.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; ++pi) {
        const vi = a[pi];
        const vp = v[vi];
        let pj = pi;
        let pk = pi - 1;
        while (pj > pl && less(vp, v[a[pk]])) a[pj--] = a[pk--];
        a[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop() as number;
    pl = stack.pop() as number;
    cdepth = depth.pop() as number;
  }
  return a;
}

/** `np.argsort(v)[::-1]`: ensemble_boxes' "descending" order. */
export function numpyArgsortDesc(v: ArrayLike<number>): Int32Array {
  return numpyArgsort(v).reverse();
}
