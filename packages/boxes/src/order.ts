// Stable descending order of scores, on typed arrays. Ties keep input order (lower index
// first), which is what torchvision's `sort(stable=True, descending=True)` gives.

const INDEX_BITS = 21; // up to 2 097 152 boxes in the packed fast path
const INDEX_SPAN = 2 ** INDEX_BITS;

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
 * Float64Array ones) are packed with their index into one float64 key and sorted by the
 * engine's native numeric sort; others fall back to a comparator sort with the same result.
 */
export function orderByScoreDesc(scores: ArrayLike<number>, subset?: Int32Array): Int32Array {
  const n = subset ? subset.length : scores.length;
  if (n < INDEX_SPAN && allFloat32(scores, subset)) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const idx = subset ? subset[i] : i;
      // Descending score = ascending complement; the low bits carry the position in the
      // input, so equal scores stay in input order.
      keys[i] = (0xffffffff - monotoneBits(scores[idx])) * INDEX_SPAN + i;
    }
    keys.sort();
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const pos = keys[i] % INDEX_SPAN;
      out[i] = subset ? subset[pos] : pos;
    }
    return out;
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = subset ? subset[i] : i;
  // subset is assumed ascending when given (callers build it in index order).
  out.sort((a, b) => scores[b] - scores[a] || a - b);
  return out;
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
