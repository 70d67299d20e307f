// The `wasm` backend's kernels (AssemblyScript, compiled to WebAssembly SIMD by
// `pnpm --filter @omnidistill/ensemble build:wasm` into wasm/kernel.wasm, with asconfig.json).
// Same arithmetic as the TypeScript kernels (src/fast.ts, src/reference.ts): float32 values,
// every operation rounded to float32 (wasm f32 / f32x4 ops are IEEE single operations; no
// fused multiply-add, no relaxed SIMD), the same operation order. So results equal the
// reference bit for bit. Row and block bounds follow fast.ts line for line (doubles where it
// uses doubles), so the pruning decisions are the same too.
//
// Memory is laid out by the caller (src/wasm.ts); every pointer here is a byte offset.

/** One transform of a (RoI, keypoint) in the caller's table: 12 bytes. */
// map: u32 (its M x M map; a flipped transform's is channel perm[k]), flip: u32 (1: un-flip), weight: f32
const ENTRY: usize = 12;

/** What ensembleKeypoint returns. */
const DONE: i32 = 0;
const NONFINITE: i32 = 1; // an averaged value is not finite
const LARGE_VALUES: i32 = 2; // the map holds |v| > LARGE: the caller decodes it with the reference

const SLACK: f64 = 1e-5;
const TINY: f64 = 1e-30;
/** Above this magnitude resized values could overflow float32; such maps take the reference path. */
const LARGE: f32 = 1e30;
const BLOCK: i32 = 16;
/** 32 bytes where vectors are stored to read their lanes by a variable index. */
const LANES: usize = memory.data(32, 16);

export function heapBase(): usize {
  return __heap_base;
}

// --- combining the T maps of one (RoI, keypoint) ------------------------------------------

/** Values x..x+3 of a row in output order (a flipped row read right to left). */
@inline function fetch4(row: usize, x: i32, m: i32, flip: bool): v128 {
  if (!flip) return v128.load(row + (<usize>x << 2));
  const v = v128.load(row + (<usize>(m - 4 - x) << 2));
  return f32x4.shuffle(v, v, 3, 2, 1, 0);
}

@inline function fetch1(row: usize, x: i32, m: i32, flip: bool): f32 {
  return load<f32>(row + (<usize>(flip ? m - 1 - x : x) << 2));
}

/** out = (out + wa a) + wb b, rounded after each operation; flips are compile-time constants here. */
@inline function addPairRows(out: usize, a: usize, flipA: bool, wa: f32, b: usize, flipB: bool, wb: f32, m: i32): void {
  const vecRow = m & ~3;
  const va = f32x4.splat(wa), vb = f32x4.splat(wb);
  for (let y = 0; y < m; y++) {
    const row = <usize>(y * m) << 2;
    const ro = out + row, ra = a + row, rb = b + row;
    let x = 0;
    for (; x < vecRow; x += 4) {
      const o = ro + (<usize>x << 2);
      v128.store(o, f32x4.add(f32x4.add(v128.load(o), f32x4.mul(fetch4(ra, x, m, flipA), va)), f32x4.mul(fetch4(rb, x, m, flipB), vb)));
    }
    for (; x < m; x++) {
      const o = ro + (<usize>x << 2);
      store<f32>(o, load<f32>(o) + fetch1(ra, x, m, flipA) * wa + fetch1(rb, x, m, flipB) * wb);
    }
  }
}

/**
 * One transform into out: avg: out = (first ? 0 : out) + w v; max: out = v for the first, else
 * `v > out ? v : out` (pmax keeps out on ties). flip, first and avg are compile-time constants here.
 */
@inline function oneRows(out: usize, a: usize, flip: bool, w: f32, first: bool, avg: bool, m: i32): void {
  const vecRow = m & ~3;
  const wv = f32x4.splat(w);
  for (let y = 0; y < m; y++) {
    const row = <usize>(y * m) << 2;
    const ro = out + row, ra = a + row;
    let x = 0;
    for (; x < vecRow; x += 4) {
      const o = ro + (<usize>x << 2);
      const v = fetch4(ra, x, m, flip);
      if (avg) {
        const p = f32x4.mul(v, wv);
        v128.store(o, first ? p : f32x4.add(v128.load(o), p));
      } else {
        v128.store(o, first ? v : f32x4.pmax(v128.load(o), v));
      }
    }
    for (; x < m; x++) {
      const o = ro + (<usize>x << 2);
      const v = fetch1(ra, x, m, flip);
      if (avg) store<f32>(o, first ? v * w : load<f32>(o) + v * w);
      else store<f32>(o, first || v > load<f32>(o) ? v : load<f32>(o));
    }
  }
}

function addPair(out: usize, a: usize, flipA: bool, wa: f32, b: usize, flipB: bool, wb: f32, m: i32): void {
  if (flipA) {
    if (flipB) addPairRows(out, a, true, wa, b, true, wb, m);
    else addPairRows(out, a, true, wa, b, false, wb, m);
  } else {
    if (flipB) addPairRows(out, a, false, wa, b, true, wb, m);
    else addPairRows(out, a, false, wa, b, false, wb, m);
  }
}

function addOne(out: usize, a: usize, flip: bool, w: f32, first: bool, m: i32): void {
  if (first) {
    if (flip) oneRows(out, a, true, w, true, true, m);
    else oneRows(out, a, false, w, true, true, m);
  } else {
    if (flip) oneRows(out, a, true, w, false, true, m);
    else oneRows(out, a, false, w, false, true, m);
  }
}

function maxOne(out: usize, a: usize, flip: bool, first: bool, m: i32): void {
  if (first) {
    if (flip) oneRows(out, a, true, 1, true, false, m);
    else oneRows(out, a, false, 1, true, false, m);
  } else {
    if (flip) oneRows(out, a, true, 1, false, false, m);
    else oneRows(out, a, false, 1, false, false, m);
  }
}

@inline function entryMap(table: usize, i: i32): usize {
  return <usize>load<u32>(table + <usize>i * ENTRY);
}
@inline function entryFlip(table: usize, i: i32): bool {
  return load<u32>(table + <usize>i * ENTRY, 4) == 1;
}
@inline function entryWeight(table: usize, i: i32): f32 {
  return load<f32>(table + <usize>i * ENTRY, 8);
}

/**
 * out[0, m*m) = the `count` transforms at `table` combined: avg = ((w0 v0 + w1 v1) + ...) /
 * weightSum, summed two transforms per pass over `out` (same order, half the loads and stores
 * of the sum); max = the first maximum. Each pass runs a loop specialised for its flips.
 * Returns false when an averaged value is not finite.
 */
function combine(table: usize, count: i32, m: i32, avg: bool, weightSum: f32, out: usize): bool {
  const mm = <usize>(m * m);
  if (!avg) {
    for (let i = 0; i < count; i++) maxOne(out, entryMap(table, i), entryFlip(table, i), i == 0, m);
    return true;
  }
  addOne(out, entryMap(table, 0), entryFlip(table, 0), entryWeight(table, 0), true, m);
  let i = 1;
  for (; i + 1 < count; i += 2) {
    addPair(out, entryMap(table, i), entryFlip(table, i), entryWeight(table, i), entryMap(table, i + 1), entryFlip(table, i + 1), entryWeight(table, i + 1), m);
  }
  if (i < count) addOne(out, entryMap(table, i), entryFlip(table, i), entryWeight(table, i), false, m);
  const ws = f32x4.splat(weightSum);
  const zero = f32x4.splat(0);
  let finite = i32x4.splat(-1);
  let j: usize = 0;
  const vecEnd = mm & ~3;
  for (; j < vecEnd; j += 4) {
    const o = out + (j << 2);
    const v = f32x4.div(v128.load(o), ws);
    v128.store(o, v);
    finite = v128.and(finite, f32x4.eq(f32x4.sub(v, v), zero));
  }
  let ok = v128.all_true<i32>(finite);
  for (; j < mm; j++) {
    const o = out + (j << 2);
    const v = load<f32>(o) / weightSum;
    store<f32>(o, v);
    if (v - v != 0) ok = false;
  }
  return ok;
}

// --- decoding: the pruned first maximum of the bicubic resize -------------------------------

// Decode state of the current RoI (set by setRoi).
let xIndex: usize = 0; // [W, 4] i32
let xWeight: usize = 0; // [W, 4] f32
let yIndex: usize = 0; // [H, 4] i32
let yWeight: usize = 0; // [H, 4] f32
let posMin: f64 = 0, posMax: f64 = 0, negMin: f64 = 0, negMax: f64 = 0, absMax: f64 = 0;
// Scratch (caller-sized for the largest RoI of the call).
let rows: usize = 0; // [M, W] f32: source rows resized along x
let ready: usize = 0; // [M] u8
let rowHi: usize = 0; // [M] f64
let rowLo: usize = 0; // [M] f64
let bound: usize = 0; // [H] f32
let mapT: usize = 0; // [M, M] f32: the map transposed
let blockMax: usize = 0; // [M, ceil(W / 16)] f32
// evaluateRow's answer
let rowBest: f32 = 0;

@inline function f32At(base: usize, i: i32): f32 {
  return load<f32>(base + (<usize>i << 2));
}
@inline function i32At(base: usize, i: i32): i32 {
  return load<i32>(base + (<usize>i << 2));
}

/** ((a0 w0 + a1 w1) + a2 w2) + a3 w3 in float32, the reference's order. */
@inline function taps4(a0: f32, a1: f32, a2: f32, a3: f32, w0: f32, w1: f32, w2: f32, w3: f32): f32 {
  return a0 * w0 + a1 * w1 + a2 * w2 + a3 * w3;
}

/** Output column x of the source row at `src` resized along x. */
@inline function resizedAt(src: usize, x: i32): f32 {
  const a = 4 * x;
  return taps4(
    f32At(src, i32At(xIndex, a)), f32At(src, i32At(xIndex, a + 1)), f32At(src, i32At(xIndex, a + 2)), f32At(src, i32At(xIndex, a + 3)),
    f32At(xWeight, a), f32At(xWeight, a + 1), f32At(xWeight, a + 2), f32At(xWeight, a + 3),
  );
}

/** Byte offset in `rows` of source row r resized along x (computed on first use). */
function resizedRow(map: usize, m: i32, W: i32, r: i32): usize {
  const at = rows + (<usize>(r * W) << 2);
  if (load<u8>(ready + <usize>r) == 0) {
    const src = map + (<usize>(r * m) << 2);
    for (let x = 0; x < W; x++) store<f32>(at + (<usize>x << 2), resizedAt(src, x));
    store<u8>(ready + <usize>r, 1);
  }
  return at;
}

/** Output row y: returns the x of its first maximum, the maximum in rowBest. */
function evaluateRow(map: usize, m: i32, W: i32, y: i32): i32 {
  const a = 4 * y;
  const r0 = resizedRow(map, m, W, i32At(yIndex, a)), r1 = resizedRow(map, m, W, i32At(yIndex, a + 1));
  const r2 = resizedRow(map, m, W, i32At(yIndex, a + 2)), r3 = resizedRow(map, m, W, i32At(yIndex, a + 3));
  const w0 = f32At(yWeight, a), w1 = f32At(yWeight, a + 1), w2 = f32At(yWeight, a + 2), w3 = f32At(yWeight, a + 3);
  const v0 = f32x4.splat(w0), v1 = f32x4.splat(w1), v2 = f32x4.splat(w2), v3 = f32x4.splat(w3);
  // Per lane (x = lane mod 4) the first maximum; lanes then merged, then the tail.
  let bestV = f32x4.splat(-Infinity);
  let bestX = i32x4.splat(0);
  let xs = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  let x = 0;
  const vecEnd = W & ~3;
  for (; x < vecEnd; x += 4) {
    const o = <usize>x << 2;
    const v = f32x4.add(
      f32x4.add(f32x4.add(f32x4.mul(v128.load(r0 + o), v0), f32x4.mul(v128.load(r1 + o), v1)), f32x4.mul(v128.load(r2 + o), v2)),
      f32x4.mul(v128.load(r3 + o), v3),
    );
    const better = f32x4.gt(v, bestV);
    bestV = v128.bitselect(v, bestV, better);
    bestX = v128.bitselect(xs, bestX, better);
    xs = i32x4.add(xs, four);
  }
  let best: f32 = -Infinity;
  let bx: i32 = -1;
  if (vecEnd > 0) {
    v128.store(LANES, bestV);
    v128.store(LANES, bestX, 16);
    for (let lane = 0; lane < 4; lane++) {
      const v = f32At(LANES, lane), lx = i32At(LANES + 16, lane);
      if (bx < 0 || v > best || (v == best && lx < bx)) {
        best = v;
        bx = lx;
      }
    }
  }
  for (; x < W; x++) {
    const o = <usize>x << 2;
    const v = taps4(load<f32>(r0 + o), load<f32>(r1 + o), load<f32>(r2 + o), load<f32>(r3 + o), w0, w1, w2, w3);
    if (bx < 0 || v > best) {
      best = v;
      bx = x;
    }
  }
  rowBest = best;
  return bx;
}

/**
 * Every source row resized along x into `rows` (the values resizedRow computes): the map is
 * transposed so that 4 source rows sit in one vector; 4 output columns are computed for them
 * and transposed back in registers. Rows and columns past the last multiple of 4 go one by one.
 */
function resizeAllRows(map: usize, m: i32, W: i32): void {
  for (let y = 0; y < m; y++) {
    for (let x = 0; x < m; x++) store<f32>(mapT + (<usize>(x * m + y) << 2), f32At(map, y * m + x));
  }
  const rowGroups = m & ~3, colGroups = W & ~3;
  const stride = <usize>m << 2;
  for (let x = 0; x < colGroups; x += 4) {
    const a = 4 * x;
    const c00 = mapT + <usize>i32At(xIndex, a) * stride, c01 = mapT + <usize>i32At(xIndex, a + 1) * stride;
    const c02 = mapT + <usize>i32At(xIndex, a + 2) * stride, c03 = mapT + <usize>i32At(xIndex, a + 3) * stride;
    const c10 = mapT + <usize>i32At(xIndex, a + 4) * stride, c11 = mapT + <usize>i32At(xIndex, a + 5) * stride;
    const c12 = mapT + <usize>i32At(xIndex, a + 6) * stride, c13 = mapT + <usize>i32At(xIndex, a + 7) * stride;
    const c20 = mapT + <usize>i32At(xIndex, a + 8) * stride, c21 = mapT + <usize>i32At(xIndex, a + 9) * stride;
    const c22 = mapT + <usize>i32At(xIndex, a + 10) * stride, c23 = mapT + <usize>i32At(xIndex, a + 11) * stride;
    const c30 = mapT + <usize>i32At(xIndex, a + 12) * stride, c31 = mapT + <usize>i32At(xIndex, a + 13) * stride;
    const c32 = mapT + <usize>i32At(xIndex, a + 14) * stride, c33 = mapT + <usize>i32At(xIndex, a + 15) * stride;
    const wp = xWeight + (<usize>a << 2);
    const w00 = v128.load32_splat(wp, 0), w01 = v128.load32_splat(wp, 4), w02 = v128.load32_splat(wp, 8), w03 = v128.load32_splat(wp, 12);
    const w10 = v128.load32_splat(wp, 16), w11 = v128.load32_splat(wp, 20), w12 = v128.load32_splat(wp, 24), w13 = v128.load32_splat(wp, 28);
    const w20 = v128.load32_splat(wp, 32), w21 = v128.load32_splat(wp, 36), w22 = v128.load32_splat(wp, 40), w23 = v128.load32_splat(wp, 44);
    const w30 = v128.load32_splat(wp, 48), w31 = v128.load32_splat(wp, 52), w32 = v128.load32_splat(wp, 56), w33 = v128.load32_splat(wp, 60);
    for (let r = 0; r < rowGroups; r += 4) {
      const o = <usize>r << 2;
      // column x + i for source rows r..r+3
      const a0 = f32x4.add(f32x4.add(f32x4.add(f32x4.mul(v128.load(c00 + o), w00), f32x4.mul(v128.load(c01 + o), w01)), f32x4.mul(v128.load(c02 + o), w02)), f32x4.mul(v128.load(c03 + o), w03));
      const a1 = f32x4.add(f32x4.add(f32x4.add(f32x4.mul(v128.load(c10 + o), w10), f32x4.mul(v128.load(c11 + o), w11)), f32x4.mul(v128.load(c12 + o), w12)), f32x4.mul(v128.load(c13 + o), w13));
      const a2 = f32x4.add(f32x4.add(f32x4.add(f32x4.mul(v128.load(c20 + o), w20), f32x4.mul(v128.load(c21 + o), w21)), f32x4.mul(v128.load(c22 + o), w22)), f32x4.mul(v128.load(c23 + o), w23));
      const a3 = f32x4.add(f32x4.add(f32x4.add(f32x4.mul(v128.load(c30 + o), w30), f32x4.mul(v128.load(c31 + o), w31)), f32x4.mul(v128.load(c32 + o), w32)), f32x4.mul(v128.load(c33 + o), w33));
      // 4x4 transpose: lanes = rows -> lanes = columns
      const t0 = f32x4.shuffle(a0, a1, 0, 4, 1, 5), t1 = f32x4.shuffle(a0, a1, 2, 6, 3, 7);
      const t2 = f32x4.shuffle(a2, a3, 0, 4, 1, 5), t3 = f32x4.shuffle(a2, a3, 2, 6, 3, 7);
      const out = rows + (<usize>(r * W + x) << 2);
      const rowBytes = <usize>W << 2;
      v128.store(out, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(out + rowBytes, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(out + 2 * rowBytes, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(out + 3 * rowBytes, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
  }
  // Leftover columns of the grouped rows, then the leftover rows in full.
  for (let r = 0; r < rowGroups; r++) {
    const src = map + (<usize>(r * m) << 2), at = rows + (<usize>(r * W) << 2);
    for (let x = colGroups; x < W; x++) store<f32>(at + (<usize>x << 2), resizedAt(src, x));
    store<u8>(ready + <usize>r, 1);
  }
  for (let r = rowGroups; r < m; r++) resizedRow(map, m, W, r);
}

// blockSearch's answer
let searchBest: f32 = 0;
let searchIndex: i32 = 0;

/** Values of block b of output row y checked against the running first maximum. */
@inline function scanBlock(W: i32, y: i32, b: i32, r0: usize, r1: usize, r2: usize, r3: usize, w0: f32, w1: f32, w2: f32, w3: f32): void {
  let best = searchBest, bestIndex = searchIndex;
  const start = b * BLOCK, end = min(W, start + BLOCK);
  for (let x = start; x < end; x++) {
    const o = <usize>x << 2;
    const v = taps4(load<f32>(r0 + o), load<f32>(r1 + o), load<f32>(r2 + o), load<f32>(r3 + o), w0, w1, w2, w3);
    const index = y * W + x;
    if (v > best || (v == best && index < bestIndex)) {
      best = v;
      bestIndex = index;
    }
  }
  searchBest = best;
  searchIndex = bestIndex;
}

/**
 * fast.ts blockSearch: first maximum over the output rows other than seedRow by blocks of 16
 * columns, each skipped when its bound (the sum in the reference's order with every term at
 * its extreme over the block) is below the best value found. Bounds of 4 blocks per vector.
 */
function blockSearch(map: usize, m: i32, W: i32, H: i32, seedRow: i32): void {
  const blocks = (W + BLOCK - 1) / BLOCK;
  resizeAllRows(map, m, W);
  const fullBlocks = W / BLOCK;
  for (let r = 0; r < m; r++) {
    const at = rows + (<usize>(r * W) << 2);
    for (let b = 0; b < fullBlocks; b++) {
      const p = at + (<usize>(b * BLOCK) << 2);
      const hi = f32x4.pmax(f32x4.pmax(v128.load(p), v128.load(p, 16)), f32x4.pmax(v128.load(p, 32), v128.load(p, 48)));
      v128.store(LANES, hi);
      let h = f32At(LANES, 0);
      for (let lane = 1; lane < 4; lane++) {
        const v = f32At(LANES, lane);
        h = v > h ? v : h;
      }
      store<f32>(blockMax + (<usize>(r * blocks + b) << 2), h);
    }
    if (fullBlocks < blocks) {
      let h: f32 = -Infinity;
      for (let x = fullBlocks * BLOCK; x < W; x++) {
        const v = f32At(at, x);
        h = v > h ? v : h;
      }
      store<f32>(blockMax + (<usize>(r * blocks + fullBlocks) << 2), h);
    }
  }
  const blockGroups = blocks & ~3;
  for (let y = 0; y < H; y++) {
    if (y == seedRow) continue;
    const a = 4 * y;
    const s0 = i32At(yIndex, a), s1 = i32At(yIndex, a + 1), s2 = i32At(yIndex, a + 2), s3 = i32At(yIndex, a + 3);
    const w0 = f32At(yWeight, a), w1 = f32At(yWeight, a + 1), w2 = f32At(yWeight, a + 2), w3 = f32At(yWeight, a + 3);
    const b0 = blockMax + (<usize>(s0 * blocks) << 2), b1 = blockMax + (<usize>(s1 * blocks) << 2);
    const b2 = blockMax + (<usize>(s2 * blocks) << 2), b3 = blockMax + (<usize>(s3 * blocks) << 2);
    const r0 = rows + (<usize>(s0 * W) << 2), r1 = rows + (<usize>(s1 * W) << 2);
    const r2 = rows + (<usize>(s2 * W) << 2), r3 = rows + (<usize>(s3 * W) << 2);
    // A negative weight's term is largest at the row's lowest value: its lower bound rowLo.
    const n0 = w0 < 0, n1 = w1 < 0, n2 = w2 < 0, n3 = w3 < 0;
    const k0 = <f32>(load<f64>(rowLo + (<usize>s0 << 3)) * <f64>w0), k1 = <f32>(load<f64>(rowLo + (<usize>s1 << 3)) * <f64>w1);
    const k2 = <f32>(load<f64>(rowLo + (<usize>s2 << 3)) * <f64>w2), k3 = <f32>(load<f64>(rowLo + (<usize>s3 << 3)) * <f64>w3);
    const v0 = f32x4.splat(w0), v1 = f32x4.splat(w1), v2 = f32x4.splat(w2), v3 = f32x4.splat(w3);
    const kk0 = f32x4.splat(k0), kk1 = f32x4.splat(k1), kk2 = f32x4.splat(k2), kk3 = f32x4.splat(k3);
    let b = 0;
    for (; b < blockGroups; b += 4) {
      const o = <usize>b << 2;
      const t0 = n0 ? kk0 : f32x4.mul(v128.load(b0 + o), v0), t1 = n1 ? kk1 : f32x4.mul(v128.load(b1 + o), v1);
      const t2 = n2 ? kk2 : f32x4.mul(v128.load(b2 + o), v2), t3 = n3 ? kk3 : f32x4.mul(v128.load(b3 + o), v3);
      const bounds = f32x4.add(f32x4.add(f32x4.add(t0, t1), t2), t3);
      // best only grows, so a block below it now stays below it
      if (!v128.any_true(f32x4.ge(bounds, f32x4.splat(searchBest)))) continue;
      v128.store(LANES, bounds);
      for (let lane = 0; lane < 4; lane++) {
        if (f32At(LANES, lane) < searchBest) continue;
        scanBlock(W, y, b + lane, r0, r1, r2, r3, w0, w1, w2, w3);
      }
    }
    for (; b < blocks; b++) {
      const t0 = n0 ? k0 : f32At(b0, b) * w0, t1 = n1 ? k1 : f32At(b1, b) * w1;
      const t2 = n2 ? k2 : f32At(b2, b) * w2, t3 = n3 ? k3 : f32At(b3, b) * w3;
      if (t0 + t1 + t2 + t3 < searchBest) continue;
      scanBlock(W, y, b, r0, r1, r2, r3, w0, w1, w2, w3);
    }
  }
}

// decodeMap's answer
let decodedBest: f32 = 0;
let decodedIndex: i32 = 0;

/**
 * fast.ts decodePruned on the map at `map`: leaves the first maximum's value and flat index
 * (y * W + x) in decodedBest / decodedIndex. Returns false for a map with |v| > LARGE (the
 * caller decodes it with the reference).
 */
function decodeMap(map: usize, m: i32, W: i32, H: i32): bool {
  memory.fill(ready, 0, <usize>m);
  // Bounds of each x-resized source row (see fast.ts).
  const rowVecs = m & ~3;
  for (let r = 0; r < m; r++) {
    const src = map + (<usize>(r * m) << 2);
    let hiV = f32x4.splat(-Infinity), loV = f32x4.splat(Infinity);
    let c = 0;
    for (; c < rowVecs; c += 4) {
      const v = v128.load(src + (<usize>c << 2));
      hiV = f32x4.pmax(hiV, v);
      loV = f32x4.pmin(loV, v);
    }
    let hi: f32 = -Infinity, lo: f32 = Infinity;
    v128.store(LANES, hiV);
    v128.store(LANES, loV, 16);
    for (let lane = 0; lane < 4; lane++) {
      const h = f32At(LANES, lane), l = f32At(LANES + 16, lane);
      if (h > hi) hi = h;
      if (l < lo) lo = l;
    }
    for (; c < m; c++) {
      const v = f32At(src, c);
      if (v > hi) hi = v;
      if (v < lo) lo = v;
    }
    if (!(hi <= LARGE && lo >= -LARGE)) return false;
    const h = <f64>hi, l = <f64>lo;
    const up = max(posMin * h, posMax * h) + max(negMin * l, negMax * l);
    const down = min(posMin * l, posMax * l) + min(negMin * h, negMax * h);
    const slack = SLACK * absMax * max(abs(h), abs(l)) + TINY;
    store<f64>(rowHi + (<usize>r << 3), up + slack);
    store<f64>(rowLo + (<usize>r << 3), down - slack);
  }
  let seedRow = 0;
  for (let y = 0; y < H; y++) {
    let b: f64 = 0, magnitude: f64 = 0;
    for (let j = 0; j < 4; j++) {
      const r = i32At(yIndex, 4 * y + j);
      const wy = <f64>f32At(yWeight, 4 * y + j);
      const rh = load<f64>(rowHi + (<usize>r << 3)), rl = load<f64>(rowLo + (<usize>r << 3));
      b += wy >= 0 ? wy * rh : wy * rl;
      magnitude += abs(wy) * max(abs(rh), abs(rl));
    }
    const bf = <f32>(b + SLACK * magnitude + TINY);
    store<f32>(bound + (<usize>y << 2), bf);
    if (bf > f32At(bound, seedRow)) seedRow = y;
  }
  const seedX = evaluateRow(map, m, W, seedRow);
  let best = rowBest;
  let bestIndex = seedRow * W + seedX;
  let candidates = 0;
  for (let y = 0; y < H; y++) if (y != seedRow && !(f32At(bound, y) < best)) candidates++;
  if (candidates * 8 <= H) {
    for (let y = 0; y < H; y++) {
      if (y == seedRow || f32At(bound, y) < best) continue;
      const x = evaluateRow(map, m, W, y);
      const index = y * W + x;
      if (rowBest > best || (rowBest == best && index < bestIndex)) {
        best = rowBest;
        bestIndex = index;
      }
    }
  } else {
    searchBest = best;
    searchIndex = bestIndex;
    blockSearch(map, m, W, H, seedRow);
    best = searchBest;
    bestIndex = searchIndex;
  }
  decodedBest = best;
  decodedIndex = bestIndex;
  return true;
}

// --- the entry points ----------------------------------------------------------------------

@inline function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

/** Bytes of decode scratch for maps of side m resized to at most W x H. */
export function scratchBytes(m: i32, W: i32, H: i32): usize {
  const blocks = <usize>((W + BLOCK - 1) / BLOCK);
  return (
    align16(<usize>(m * W) << 2) + align16(<usize>(m * m) << 2) + align16((<usize>m * blocks) << 2) + align16(<usize>H << 2) +
    2 * align16(<usize>m << 3) + align16(<usize>m)
  );
}

function layScratch(scratch: usize, m: i32, W: i32, H: i32): void {
  const blocks = <usize>((W + BLOCK - 1) / BLOCK);
  rows = scratch;
  mapT = rows + align16(<usize>(m * W) << 2);
  blockMax = mapT + align16(<usize>(m * m) << 2);
  bound = blockMax + align16((<usize>m * blocks) << 2);
  rowHi = bound + align16(<usize>H << 2);
  rowLo = rowHi + align16(<usize>m << 3);
  ready = rowLo + align16(<usize>m << 3);
}

/**
 * Sets the decode state for the next ensembleKeypoint calls (one RoI): maps of side m resized
 * to W x H with the taps at `taps` (xIndex [W,4] i32, xWeight [W,4] f32, yIndex [H,4] i32,
 * yWeight [H,4] f32) and the x weights' sum ranges as fast.ts tapsFor computes them; scratch
 * of scratchBytes(m, W, H) bytes or more.
 */
export function setRoi(m: i32, W: i32, H: i32, taps: usize, pMin: f64, pMax: f64, nMin: f64, nMax: f64, aMax: f64, scratch: usize): void {
  side = m;
  outW = W;
  outH = H;
  xIndex = taps;
  xWeight = xIndex + (<usize>W << 4);
  yIndex = xWeight + (<usize>W << 4);
  yWeight = yIndex + (<usize>H << 4);
  posMin = pMin;
  posMax = pMax;
  negMin = nMin;
  negMax = nMax;
  absMax = aMax;
  layScratch(scratch, m, W, H);
}

let side: i32 = 0;
let outW: i32 = 0;
let outH: i32 = 0;

/**
 * One (RoI, keypoint): combines the `count` transforms listed at `table` into `out` (M x M),
 * and when `decode` is set decodes it, writing the first maximum's flat index (y * W + x, i32)
 * and value (f32) to `result`. Returns DONE, NONFINITE (an averaged value is not finite) or
 * LARGE_VALUES (|v| > 1e30): then the caller decodes `out` itself.
 */
export function ensembleKeypoint(table: usize, count: i32, avg: bool, weightSum: f32, out: usize, decode: bool, result: usize): i32 {
  if (!combine(table, count, side, avg, weightSum, out)) return NONFINITE;
  if (!decode) return DONE;
  if (!decodeMap(out, side, outW, outH)) return LARGE_VALUES;
  store<i32>(result, decodedIndex);
  store<f32>(result, decodedBest, 4);
  return DONE;
}
