// Stable descending order of scores, on typed arrays. Ties keep input order (lower index
// first), which is what torchvision's `sort(stable=True, descending=True)` gives.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Maps a float32 value to a uint32 whose unsigned order is the float order. */
function monotoneBits(x: number): number {
  f32[0] = x === 0 ? 0 : x; // -0 ties with +0, as in a numeric comparison
  const b = u32[0];
  return b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
}

/**
 * Indices of `scores` (or of the subset `subset`) sorted by descending score, ties by
 * ascending index. Scores that are exact float32 values (all Float32Array inputs, most
 * Float64Array ones) take a stable radix sort on their bit patterns; others fall back to a
 * comparator sort with the same result.
 */
export function orderByScoreDesc(scores: ArrayLike<number>, subset?: Int32Array): Int32Array {
  const n = subset ? subset.length : scores.length;
  if (allFloat32(scores, subset)) return radixOrder(scores, subset, n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = subset ? subset[i] : i;
  // subset is assumed ascending when given (callers build it in index order).
  out.sort((a, b) => scores[b] - scores[a] || a - b);
  return out;
}

/**
 * Fused boxes collected as flat lists (`[x1, y1, x2, y2]` per box), returned as typed
 * arrays in descending score order (stable on ties) — the output order of WBF and NMW.
 */
export function packByScoreDesc(
  boxList: readonly number[],
  scoreList: readonly number[],
  labelList: readonly number[],
): { boxes: Float64Array; scores: Float64Array; labels: Int32Array } {
  const unsorted = Float64Array.from(scoreList);
  const order = orderByScoreDesc(unsorted);
  const boxes = new Float64Array(4 * order.length);
  const labels = new Int32Array(order.length);
  const scores = new Float64Array(order.length);
  order.forEach((k, i) => {
    boxes.set(boxList.slice(4 * k, 4 * k + 4), 4 * i);
    labels[i] = labelList[k];
    scores[i] = unsorted[k];
  });
  return { boxes, scores, labels };
}

// Scratch reused across calls (JavaScript is single-threaded and nothing here re-enters).
const scratch = { keyA: new Uint32Array(0), keyB: new Uint32Array(0), posA: new Int32Array(0), posB: new Int32Array(0) };
const counts = new Int32Array(2048);

/**
 * LSD radix sort of float32 bit patterns, complemented for descending order.
 * Radix sorting is stable, so equal scores keep input order with no tie-break key.
 */
function radixOrder(scores: ArrayLike<number>, subset: Int32Array | undefined, n: number): Int32Array {
  if (scratch.keyA.length < n) {
    const cap = Math.max(n, 2 * scratch.keyA.length);
    scratch.keyA = new Uint32Array(cap);
    scratch.keyB = new Uint32Array(cap);
    scratch.posA = new Int32Array(cap);
    scratch.posB = new Int32Array(cap);
  }
  const keyA = scratch.keyA;
  const posA = scratch.posA;
  if (scores instanceof Float32Array && subset === undefined) {
    // Read the bit patterns directly (no per-element float round trip).
    const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
    for (let i = 0; i < n; i++) {
      let b = bits[i];
      if (b === 0x80000000) b = 0; // -0 ties with +0
      // Descending key = complement of the monotone key.
      keyA[i] = b & 0x80000000 ? b : ~b & 0x7fffffff;
      posA[i] = i;
    }
  } else {
    for (let i = 0; i < n; i++) {
      keyA[i] = 0xffffffff - monotoneBits(scores[subset ? subset[i] : i]);
      posA[i] = i;
    }
  }
  // Small inputs: 4 passes of 8 bits (cheap histograms); large: 3 passes of 11 bits.
  const bits = n < 4096 ? 8 : 11;
  let srcK = keyA;
  let srcP = posA;
  let dstK = scratch.keyB;
  let dstP = scratch.posB;
  for (let shift = 0; shift < 32; shift += bits) {
    radixPass(srcK, srcP, dstK, dstP, n, shift, bits);
    const tk = srcK;
    srcK = dstK;
    dstK = tk;
    const tp = srcP;
    srcP = dstP;
    dstP = tp;
  }
  const out = new Int32Array(n);
  if (subset) for (let i = 0; i < n; i++) out[i] = subset[srcP[i]];
  else out.set(srcP.subarray(0, n));
  return out;
}

/** One stable counting pass on the digit at `shift`. */
function radixPass(srcK: Uint32Array, srcP: Int32Array, dstK: Uint32Array, dstP: Int32Array, n: number, shift: number, bits: number): void {
  const buckets = 1 << bits;
  const mask = buckets - 1;
  const c = counts;
  c.fill(0, 0, buckets);
  for (let i = 0; i < n; i++) c[(srcK[i] >>> shift) & mask]++;
  let acc = 0;
  for (let b = 0; b < buckets; b++) {
    const v = c[b];
    c[b] = acc;
    acc += v;
  }
  for (let i = 0; i < n; i++) {
    const k = srcK[i];
    const at = c[(k >>> shift) & mask]++;
    dstK[at] = k;
    dstP[at] = srcP[i];
  }
}

function allFloat32(scores: ArrayLike<number>, subset?: Int32Array): boolean {
  if (scores instanceof Float32Array) return true;
  const n = subset ? subset.length : scores.length;
  for (let i = 0; i < n; i++) {
    const s = scores[subset ? subset[i] : i];
    if (Math.fround(s) !== s) return false;
  }
  return true;
}
