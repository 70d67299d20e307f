// CPU backend: work items are (RoI, keypoint) pairs handed out dynamically to a few threads
// (RoIs differ a lot in decoded size, so static splitting would leave threads idle). Inner
// loops run over contiguous rows so the compiler vectorises them.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "kernel_math.h"
#include "kernels.h"

// Hot loops get an AVX2 clone next to the baseline one, picked at load time from the CPU's
// features (GCC target_clones): binaries stay portable, AVX2 machines run 8-wide. AVX2 alone
// brings no FMA, and -ffp-contract=off keeps every product and sum separately rounded anyway.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(OMNI_NO_CLONES)
#define OMNI_HOT __attribute__((target_clones("avx2", "default")))
#else
#define OMNI_HOT
#endif

namespace omni {
namespace cpu {
namespace {

/** Runs body(item, threadIndex) for item in [0, count) on `threads` threads (the caller is one). */
template <typename Body>
void parallelFor(int64_t count, int threads, Body body) {
  const int useThreads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, count)));
  std::atomic<int64_t> next{0};
  auto worker = [&](int threadIndex) {
    for (int64_t item = next.fetch_add(1); item < count; item = next.fetch_add(1)) body(item, threadIndex);
  };
  // Threads live for one call: a call is a whole batch (milliseconds or more), so spawning is
  // negligible and nothing outlives the addon or needs a shutdown hook.
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(useThreads - 1));
  for (int i = 1; i < useThreads; ++i) pool.emplace_back(worker, i);
  worker(0);
  for (auto& t : pool) t.join();
}

/** One row of M values: dst = w * src (first transform) or dst += w * src, x optionally reversed. */
template <bool Flip, bool First, bool Max>
inline uint32_t combineRow(const float* __restrict src, float* __restrict dst, int64_t m, float w) {
  uint32_t bad = 0;
  for (int64_t x = 0; x < m; ++x) {
    const float v = Flip ? src[m - 1 - x] : src[x];
    if (Max) {
      bad |= nonFiniteBit(v);  // a -Inf could vanish under max, so max checks every value read
      dst[x] = First ? v : (v > dst[x] ? v : dst[x]);
    } else {
      dst[x] = First ? w * v : dst[x] + w * v;  // NaN/Inf propagate; checked once on the result
    }
  }
  return bad;
}

/**
 * Rows [0, rows) of one map (rows of m values, contiguous): dst = w * src (First) or dst +=
 * w * src, or the max for Mode::Max, x reversed per row when the transform is flipped.
 * Unflipped rows are one contiguous run, so the loop runs long instead of row by row.
 */
template <bool First>
inline uint32_t combineRows(bool flip, Mode mode, const float* src, float* dst, int64_t m, int64_t rows, float w) {
  const bool max = mode == Mode::Max;
  if (!flip) return max ? combineRow<false, First, true>(src, dst, m * rows, w) : combineRow<false, First, false>(src, dst, m * rows, w);
  uint32_t bad = 0;
  for (int64_t y = 0; y < rows; ++y) {
    bad |= max ? combineRow<true, First, true>(src + y * m, dst + y * m, m, w) : combineRow<true, First, false>(src + y * m, dst + y * m, m, w);
  }
  return bad;
}

/** dst /= weightSum over `count` values; returns nonzero when a result is NaN/Inf. */
inline uint32_t divideRun(float* __restrict dst, int64_t count, float weightSum) {
  uint32_t bad = 0;
  for (int64_t x = 0; x < count; ++x) {
    const float v = dst[x] / weightSum;
    bad |= nonFiniteBit(v);
    dst[x] = v;
  }
  return bad;
}

/**
 * Transforms whose maps are summed in one pass over the output. Each pass reads this many input
 * streams at once, which keeps enough memory requests in flight to run near the memory
 * bandwidth (one stream at a time reached about half of it); 3-6 measured close, on 2 threads.
 */
constexpr size_t kTransformsPerPass = 4;

/** Output rows summed per step of a pass: small enough to stay in L1 across the group's additions. */
constexpr int64_t kRowsPerStep = 8;

/**
 * Combines the T maps of RoI n for the K keypoints in `channels` into `out` (one M*M map per
 * channel, in that order), un-flipping flipped transforms (channel perm[k], x reversed).
 * Avg: sum of w_t * map_t in transform order, then divided by the sum of the weights
 * (numpy's float32 mean when all weights are 1). Transforms are taken kTransformsPerPass at a
 * time: for each few output rows, the group's rows are added in transform order (the order, and
 * so every rounding, is that of one transform after the other), and the last group divides them
 * while they are still in L1, so the output is written once per group and never re-read from
 * memory for the division. Returns nonzero when a value read was NaN/Inf. The fused path calls
 * it one keypoint at a time (its scratch map stays in L1); the ensemble phase takes all T
 * transforms per channel window with prefetching instead (ensembleRoiByWindows).
 */
OMNI_HOT uint32_t ensembleRoi(const float* heatmaps, const Shape& s, const EnsembleSpec& e, int64_t n, int64_t kBegin,
                     int64_t kEnd, float* __restrict out) {
  const int64_t m = s.m, mm = s.mapSize();
  // The transforms this RoI takes, in order, and the sum of their weights in that order.
  int64_t active[kTransformsPerPass];
  float weightSum = 0.0f;
  for (int64_t t = 0; t < s.t; ++t) {
    if (e.included(t, n, s.n)) weightSum += e.weights[static_cast<size_t>(t)];
  }
  uint32_t bad = 0;
  bool first = true;
  int64_t t = 0;
  while (true) {
    size_t count = 0;
    for (; t < s.t && count < kTransformsPerPass; ++t) {
      if (e.included(t, n, s.n)) active[count++] = t;
    }
    if (count == 0) break;
    int64_t rest = t;  // is there an included transform after this group?
    while (rest < s.t && !e.included(rest, n, s.n)) ++rest;
    const bool last = rest == s.t;
    for (int64_t k = kBegin; k < kEnd; ++k) {
      const float* src[kTransformsPerPass];
      bool flip[kTransformsPerPass];
      float w[kTransformsPerPass];
      for (size_t i = 0; i < count; ++i) {
        const size_t ti = static_cast<size_t>(active[i]);
        flip[i] = e.flipped[ti] != 0;
        w[i] = e.weights[ti];
        src[i] = heatmaps + ((active[i] * s.n + n) * s.k + (flip[i] ? e.perm[static_cast<size_t>(k)] : k)) * mm;
      }
      float* dst = out + (k - kBegin) * mm;
      for (int64_t y = 0; y < m; y += kRowsPerStep) {
        const int64_t rows = std::min(kRowsPerStep, m - y), at = y * m;
        size_t i = 0;
        if (first) bad |= combineRows<true>(flip[i], e.mode, src[i] + at, dst + at, m, rows, w[i]), ++i;
        for (; i < count; ++i) bad |= combineRows<false>(flip[i], e.mode, src[i] + at, dst + at, m, rows, w[i]);
        if (last && e.mode == Mode::Avg) bad |= divideRun(dst + at, rows * m, weightSum);
      }
    }
    first = false;
    if (last) break;
  }
  return bad;
}

/**
 * Starts of the channel windows that perm maps onto themselves, smallest first, then K: for
 * COCO's left/right pairs {0}, {1, 2}, {3, 4}, ... A window of a flipped transform's source
 * maps lands in the same window of the output. (perm is an involution, checked by the addon.)
 */
std::vector<int64_t> permClosedWindows(const EnsembleSpec& e, int64_t k) {
  std::vector<int64_t> starts;
  for (int64_t c0 = 0, c1 = 0; c0 < k; c0 = c1) {
    starts.push_back(c0);
    c1 = c0 + 1;
    for (int64_t c = c0; c < c1; ++c) c1 = std::max<int64_t>(c1, e.perm[static_cast<size_t>(c)] + 1);
  }
  starts.push_back(k);
  return starts;
}

/** Prefetch into L2 (not L1, where it would evict the output window being summed). */
inline void prefetchToL2(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 2);
#else
  (void)p;
#endif
}

/**
 * How far ahead ensembleRoiByWindows prefetches: the run that starts about this many bytes
 * later (at least 2 runs). At M = 56 a run is 1-2 maps (12-25 KB), so 2 runs; 1-4 runs ahead
 * measured alike, 9 slower.
 */
constexpr int64_t kPrefetchBytes = 32 << 10;

/**
 * Combines the included transforms of RoI n into `out` ([K, M, M]), one perm-closed channel
 * window at a time: for each window, every included transform in transform order adds its maps
 * of the window (one contiguous run of 1-2 maps for COCO; a flipped transform's source channel c
 * into output channel perm[c], x reversed), so each output value receives the transforms in
 * order and the rounding is that of ensembleRoi; the last one divides the window.
 *
 * Why this order (issue 17; native/bench/averaging-variants.cc times it against the
 * alternatives): the window's output (at most 2 maps, 25 KB) stays in L1 while all T add into
 * it, so the core does little more than the loads. The previous kernel summed one transform at
 * a time over 4 RoIs in memory order (one long input stream, the prefetchers' best case) into a
 * 0.85 MB output that lived in L2/L3; with the input in L3 (N = 4) it took 1.3-1.4x this one's
 * time, from DRAM (N = 100) the two are even (2 threads, 58-72 % of the triad). The T runs of a
 * window lie T regions N * K * M * M floats apart (21 MB in the bench) and are too short for the
 * hardware prefetchers to ramp up on: without help this order ran at 0.7x the previous kernel's
 * speed from DRAM, and prefetching only the first 2-8 KB of each run did not help. So the whole
 * run about kPrefetchBytes ahead is prefetched into L2, a share of it after each step of rows.
 * Returns nonzero when a value read was NaN/Inf.
 */
OMNI_HOT uint32_t ensembleRoiByWindows(const float* heatmaps, const Shape& s, const EnsembleSpec& e, int64_t n,
                                       const std::vector<int64_t>& windows, float* __restrict out) {
  const int64_t m = s.m, mm = s.mapSize();
  float weightSum = 0.0f;
  int64_t firstT = -1, lastT = -1;
  std::vector<int64_t> included;
  for (int64_t t = 0; t < s.t; ++t) {
    if (!e.included(t, n, s.n)) continue;
    weightSum += e.weights[static_cast<size_t>(t)];
    if (firstT < 0) firstT = t;
    lastT = t;
    included.push_back(t);
  }
  // Run r is transform included[r % T'] over window r / T'.
  const size_t perWindow = included.size(), runs = perWindow * (windows.size() - 1);
  auto runStart = [&](size_t r, int64_t channel) {
    return heatmaps + ((included[r % perWindow] * s.n + n) * s.k + channel) * mm;
  };
  const int64_t mapBytes = std::max<int64_t>(1, mm * static_cast<int64_t>(sizeof(float)));
  const size_t runsAhead = static_cast<size_t>(std::max<int64_t>(2, kPrefetchBytes / mapBytes));
  uint32_t bad = 0;
  for (size_t r = 0; r < runs; ++r) {
    const int64_t t = included[r % perWindow], c0 = windows[r / perWindow], c1 = windows[r / perWindow + 1];
    const bool flip = e.flipped[static_cast<size_t>(t)] != 0, first = t == firstT, last = t == lastT;
    const float w = e.weights[static_cast<size_t>(t)];
    // The run to prefetch, spread evenly over this run's steps of kRowsPerStep rows.
    const char* ahead = nullptr;
    int64_t aheadBytes = 0, prefetched = 0, step = 0;
    if (r + runsAhead < runs) {
      const size_t a = r + runsAhead;
      ahead = reinterpret_cast<const char*>(runStart(a, windows[a / perWindow]));
      aheadBytes = (windows[a / perWindow + 1] - windows[a / perWindow]) * mapBytes;
    }
    const int64_t steps = (c1 - c0) * ((m + kRowsPerStep - 1) / kRowsPerStep);
    for (int64_t c = c0; c < c1; ++c) {
      const float* src = runStart(r, c);
      float* dst = out + (flip ? e.perm[static_cast<size_t>(c)] : c) * mm;
      for (int64_t y = 0; y < m; y += kRowsPerStep) {
        const int64_t rows = std::min(kRowsPerStep, m - y), at = y * m;
        bad |= first ? combineRows<true>(flip, e.mode, src + at, dst + at, m, rows, w) : combineRows<false>(flip, e.mode, src + at, dst + at, m, rows, w);
        if (ahead == nullptr) continue;
        for (const int64_t until = aheadBytes * ++step / steps; prefetched < until; prefetched += 64) prefetchToL2(ahead + prefetched);
      }
    }
    if (last && e.mode == Mode::Avg) {
      for (int64_t c = c0; c < c1; ++c) bad |= divideRun(out + c * mm, mm, weightSum);
    }
  }
  return bad;
}

/** Maximum of `count` floats; lane-wise so it vectorises (max is exact in any order). */
inline float rowMaximum(const float* __restrict v, int64_t count) {
  constexpr int kLanes = 16;
  float lanes[kLanes];
  for (int j = 0; j < kLanes; ++j) lanes[j] = -INFINITY;
  int64_t x = 0;
  for (; x + kLanes <= count; x += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] = v[x + j] > lanes[j] ? v[x + j] : lanes[j];
  }
  float best = -INFINITY;
  for (int j = 0; j < kLanes; ++j) best = lanes[j] > best ? lanes[j] : best;
  for (; x < count; ++x) best = v[x] > best ? v[x] : best;
  return best;
}

/**
 * exp(x) for x <= 0 in float, branch-free so loops over it vectorise: Cody-Waite reduction
 * x = n ln2 + r and a degree-6 polynomial (relative error about 2e-7); underflows to 0 below
 * -87. Only the softmax probability uses it (compared with a tolerance, not bit for bit).
 */
inline float expNonPositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = (p * r) * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return e * scale;
}

/** sum_i exp(v_i - top) over one row (v_i <= top), in lanes, returned in double. */
inline double sumExpBelow(const float* __restrict v, int64_t count, float top) {
  constexpr int kLanes = 16;
  float lanes[kLanes] = {};
  int64_t x = 0;
  for (; x + kLanes <= count; x += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] += expNonPositive(v[x + j] - top);
  }
  double sum = 0.0;
  for (int j = 0; j < kLanes; ++j) sum += lanes[j];
  for (; x < count; ++x) sum += expNonPositive(v[x] - top);
  return sum;
}

/** Per-thread scratch for decoding, grown on demand and reused across work items. */
struct DecodeScratch {
  std::vector<CubicTaps> xTaps, yTaps;
  std::vector<float> mapT;     // [M, M]: the map transposed (column c is contiguous)
  std::vector<float> rowsT;    // [W, M]: every source row resized along x, x-major
  std::vector<float> rows;     // [M, W]: the same, row-major, filled lazily for the y pass
  std::vector<float> line;     // [W]: one output row
  std::vector<float> map;      // [M, M]: the fused kernel's combined map
  std::vector<float> rowMax, rowMin;  // [M]: extremes of each resized source row
  std::vector<uint8_t> rowReady;      // [M]: whether rows[r] holds the transposed source row
  std::vector<float> bound;           // [H]: upper bound of each output row
  int64_t tapsM = -1, tapsW = -1, tapsH = -1;  // what xTaps/yTaps were computed for
  // Over all x: range of the positive and of the negative weight sums, max of sum |w|.
  double posMin = 0, posMax = 0, negMin = 0, negMax = 0, absMax = 0;
  std::vector<float> srcHi, srcLo;    // [M]: extremes of each source row of the map
  std::vector<double> rowHi, rowLo;   // [M]: bounds of each x-resized source row
};

/** Taps depend only on (M, W) and (M, H): the K keypoints of a RoI share them, so reuse. */
void prepareTaps(DecodeScratch& sc, int64_t m, int64_t W, int64_t H) {
  if (sc.tapsM != m || sc.tapsW != W) {
    sc.xTaps.resize(static_cast<size_t>(W));
    const float scale = resizeScale(m, W);
    for (int64_t x = 0; x < W; ++x) sc.xTaps[static_cast<size_t>(x)] = cubicTaps(x, m, scale);
    sc.posMin = sc.negMin = INFINITY;
    sc.posMax = sc.negMax = -INFINITY;
    sc.absMax = 0;
    for (const CubicTaps& tp : sc.xTaps) {
      double pos = 0, neg = 0;
      for (int j = 0; j < 4; ++j) (tp.w[j] >= 0 ? pos : neg) += tp.w[j];
      sc.posMin = std::min(sc.posMin, pos);
      sc.posMax = std::max(sc.posMax, pos);
      sc.negMin = std::min(sc.negMin, neg);
      sc.negMax = std::max(sc.negMax, neg);
      sc.absMax = std::max(sc.absMax, pos - neg);
    }
  }
  if (sc.tapsM != m || sc.tapsH != H) {
    sc.yTaps.resize(static_cast<size_t>(H));
    const float scale = resizeScale(m, H);
    for (int64_t y = 0; y < H; ++y) sc.yTaps[static_cast<size_t>(y)] = cubicTaps(y, m, scale);
  }
  sc.tapsM = m;
  sc.tapsW = W;
  sc.tapsH = H;
}

struct Decoded {
  float x, y, logit, probability;
};

/**
 * Resizes all M source rows along x to W samples: rowsT[x][r] = sum_j map[r][idx_j(x)] * w_j(x)
 * in PyTorch's order. Computed column-wise on the transposed map so the inner loop runs over
 * the M rows with broadcast weights (vectorises; no gathers). Also records each resized
 * row's max and min (the bounds used to skip output rows). Rows are transposed back to
 * row-major lazily, only when an output row needs them (sourceRow).
 */
OMNI_HOT void resizeRows(const float* __restrict map, int64_t m, int64_t W, DecodeScratch& sc) {
  sc.mapT.resize(static_cast<size_t>(m * m));
  sc.rowsT.resize(static_cast<size_t>(W * m));
  sc.rows.resize(static_cast<size_t>(m * W));
  sc.rowReady.assign(static_cast<size_t>(m), 0);
  sc.rowMax.assign(static_cast<size_t>(m), -INFINITY);
  sc.rowMin.assign(static_cast<size_t>(m), INFINITY);
  float* __restrict mapT = sc.mapT.data();
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < m; ++c) mapT[c * m + r] = map[r * m + c];
  float* __restrict rowsT = sc.rowsT.data();
  float* __restrict hi = sc.rowMax.data();
  float* __restrict lo = sc.rowMin.data();
  for (int64_t x = 0; x < W; ++x) {
    const CubicTaps& tp = sc.xTaps[static_cast<size_t>(x)];
    const float* __restrict c0 = mapT + tp.idx[0] * m;
    const float* __restrict c1 = mapT + tp.idx[1] * m;
    const float* __restrict c2 = mapT + tp.idx[2] * m;
    const float* __restrict c3 = mapT + tp.idx[3] * m;
    const float w0 = tp.w[0], w1 = tp.w[1], w2 = tp.w[2], w3 = tp.w[3];
    float* __restrict out = rowsT + x * m;
    for (int64_t r = 0; r < m; ++r) {
      const float v = ((c0[r] * w0 + c1[r] * w1) + c2[r] * w2) + c3[r] * w3;
      out[r] = v;
      hi[r] = v > hi[r] ? v : hi[r];
      lo[r] = v < lo[r] ? v : lo[r];
    }
  }
}

/** Resized source row r, row-major (transposed from rowsT on first use). */
inline const float* sourceRow(DecodeScratch& sc, int64_t r, int64_t m, int64_t W) {
  float* row = sc.rows.data() + r * W;
  if (!sc.rowReady[static_cast<size_t>(r)]) {
    const float* __restrict col = sc.rowsT.data() + r;
    for (int64_t x = 0; x < W; ++x) row[x] = col[x * m];
    sc.rowReady[static_cast<size_t>(r)] = 1;
  }
  return row;
}

/**
 * Bicubic-resizes one M x M map to H x W (separably: rows along x first, then columns, the
 * same operation order as PyTorch's kernel), takes the first maximum, and maps it back to
 * the image. The full H x W map is never stored: one output row at a time, with an online
 * softmax normaliser (running max + rescaled sum) for the probability.
 */
OMNI_HOT Decoded decodeMap(const float* __restrict map, int64_t m, const float* roi, bool wantProbability,
                  DecodeScratch& sc, uint32_t* bad) {
  const RoiGeometry g = roiGeometry(roi);
  const int64_t W = g.W, H = g.H;
  prepareTaps(sc, m, W, H);

  uint32_t badBits = 0;
  for (int64_t i = 0; i < m * m; ++i) badBits |= nonFiniteBit(map[i]);
  *bad |= badBits;

  resizeRows(map, m, W, sc);

  sc.line.resize(static_cast<size_t>(W));
  float* __restrict line = sc.line.data();
  // One output row: PyTorch's y-direction sum over the 4 resized source rows, then its first maximum.
  auto evalRow = [&](int64_t y, float* rowMaxOut) -> int64_t {
    const CubicTaps& tp = sc.yTaps[static_cast<size_t>(y)];
    const float* __restrict r0 = sourceRow(sc, tp.idx[0], m, W);
    const float* __restrict r1 = sourceRow(sc, tp.idx[1], m, W);
    const float* __restrict r2 = sourceRow(sc, tp.idx[2], m, W);
    const float* __restrict r3 = sourceRow(sc, tp.idx[3], m, W);
    const float w0 = tp.w[0], w1 = tp.w[1], w2 = tp.w[2], w3 = tp.w[3];
    for (int64_t x = 0; x < W; ++x) line[x] = ((r0[x] * w0 + r1[x] * w1) + r2[x] * w2) + r3[x] * w3;
    const float rowMax = rowMaximum(line, W);
    int64_t x = 0;
    while (x < W - 1 && !(line[x] == rowMax)) ++x;  // first maximum of the row
    *rowMaxOut = rowMax;
    return x;
  };

  float best = -INFINITY;
  int64_t bestIndex = -1;
  auto offer = [&](int64_t y, int64_t x, float v) {  // flat-order first maximum, rows in any order
    const int64_t index = y * W + x;
    if (bestIndex < 0 || v > best || (v == best && index < bestIndex)) {
      best = v;
      bestIndex = index;
    }
  };

  // Row bounds. Rounding to nearest is monotone, so evaluating a row's sum in the same float
  // order with each term at its extreme (w >= 0: the source row's max, else its min) bounds
  // every value of that row from above, exactly.
  sc.bound.resize(static_cast<size_t>(H));
  int64_t seedRow = 0;
  for (int64_t y = 0; y < H; ++y) {
    const CubicTaps& tp = sc.yTaps[static_cast<size_t>(y)];
    float term[4];
    for (int j = 0; j < 4; ++j) {
      const size_t r = static_cast<size_t>(tp.idx[j]);
      term[j] = tp.w[j] >= 0.0f ? sc.rowMax[r] : sc.rowMin[r];
    }
    const float b = cubicCombine(term[0], term[1], term[2], term[3], tp.w);
    sc.bound[static_cast<size_t>(y)] = b;
    if (b > sc.bound[static_cast<size_t>(seedRow)]) seedRow = y;
  }
  const float* bound = sc.bound.data();
  // Seed with the most promising row so that most rows can be skipped.
  float rowMax = 0.0f;
  const int64_t seedX = evalRow(seedRow, &rowMax);
  offer(seedRow, seedX, rowMax);

  Decoded d;
  if (!wantProbability) {
    // A row whose bound is below the best value found cannot hold the maximum, nor a value
    // equal to it, so skipping it keeps the first-maximum result exact.
    for (int64_t y = 0; y < H; ++y) {
      if (y == seedRow || bound[y] < best) continue;
      const int64_t x = evalRow(y, &rowMax);
      offer(y, x, rowMax);
    }
    d.probability = 0.0f;
  } else {
    // Softmax normaliser sum_i exp(v_i - max) >= 1. A row whose bound lies more than
    // `negligible` below the best value adds at most W * exp(-negligible) <= 1e-10 / H to it,
    // so skipping such rows changes the probability by less than 1e-10 (relative).
    const double negligible = std::log(static_cast<double>(W) * static_cast<double>(H)) + 23.0;
    double softMax = rowMax, softSum = sumExpBelow(line, W, rowMax);  // sum of exp(v - softMax)
    for (int64_t y = 0; y < H; ++y) {
      if (y == seedRow || static_cast<double>(bound[y]) < static_cast<double>(best) - negligible) continue;
      const int64_t x = evalRow(y, &rowMax);
      offer(y, x, rowMax);
      if (rowMax > softMax) {
        softSum = softSum * std::exp(softMax - static_cast<double>(rowMax));
        softMax = rowMax;
      }
      softSum += sumExpBelow(line, W, static_cast<float>(softMax));
    }
    d.probability = static_cast<float>(1.0 / softSum);
  }
  const int64_t xi = bestIndex % W, yi = bestIndex / W;
  d.x = cellToImage(xi, g.w, W, g.x1);
  d.y = cellToImage(yi, g.h, H, g.y1);
  d.logit = best;
  return d;
}

/** Minimum of `count` floats, lane-wise like rowMaximum. */
inline float rowMinimum(const float* __restrict v, int64_t count) {
  constexpr int kLanes = 16;
  float lanes[kLanes];
  for (int j = 0; j < kLanes; ++j) lanes[j] = INFINITY;
  int64_t x = 0;
  for (; x + kLanes <= count; x += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] = v[x + j] < lanes[j] ? v[x + j] : lanes[j];
  }
  float least = INFINITY;
  for (int j = 0; j < kLanes; ++j) least = lanes[j] < least ? lanes[j] : least;
  for (; x < count; ++x) least = v[x] < least ? v[x] : least;
  return least;
}

/**
 * Argmax-only decoding (no probability), exact, touching only the rows that can matter.
 * Bounds come from interval arithmetic: an x-resized source row r lies within
 * [rowLo, rowHi] derived from the row's min/max and the range of the positive / negative x
 * weight sums; an output row y within the y-weighted combination of those. Both carry a
 * relative slack of 1e-5 (the float rounding of a 4-term sum is below 1e-6), so they are
 * sound upper bounds of the float values PyTorch's order produces. Output rows whose bound
 * is below the best value found are skipped (they cannot hold the maximum or a tie), and
 * source rows are resized along x only when an evaluated output row needs them. Values that
 * are computed are computed exactly as in the full path.
 */
OMNI_HOT Decoded decodeArgmax(const float* __restrict map, int64_t m, const float* roi, DecodeScratch& sc,
                              uint32_t* bad) {
  const RoiGeometry g = roiGeometry(roi);
  const int64_t W = g.W, H = g.H;
  prepareTaps(sc, m, W, H);

  uint32_t badBits = 0;
  for (int64_t i = 0; i < m * m; ++i) badBits |= nonFiniteBit(map[i]);
  *bad |= badBits;

  constexpr double kSlack = 1e-5, kTiny = 1e-30;
  sc.srcHi.resize(static_cast<size_t>(m));
  sc.srcLo.resize(static_cast<size_t>(m));
  sc.rowHi.resize(static_cast<size_t>(m));
  sc.rowLo.resize(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r) {
    const double hi = rowMaximum(map + r * m, m), lo = rowMinimum(map + r * m, m);
    // sum_j w_j s_j over x is linear in the positive sum P and the negative sum N, so its
    // extremes over P in [posMin, posMax], N in [negMin, negMax] sit at interval ends.
    const double up = std::max(sc.posMin * hi, sc.posMax * hi) + std::max(sc.negMin * lo, sc.negMax * lo);
    const double down = std::min(sc.posMin * lo, sc.posMax * lo) + std::min(sc.negMin * hi, sc.negMax * hi);
    const double slack = kSlack * sc.absMax * std::max(std::fabs(hi), std::fabs(lo)) + kTiny;
    sc.rowHi[static_cast<size_t>(r)] = up + slack;
    sc.rowLo[static_cast<size_t>(r)] = down - slack;
  }
  sc.bound.resize(static_cast<size_t>(H));
  int64_t seedRow = 0;
  for (int64_t y = 0; y < H; ++y) {
    const CubicTaps& tp = sc.yTaps[static_cast<size_t>(y)];
    double b = 0, magnitude = 0;
    for (int j = 0; j < 4; ++j) {
      const size_t r = static_cast<size_t>(tp.idx[j]);
      const double w = tp.w[j];
      b += w >= 0 ? w * sc.rowHi[r] : w * sc.rowLo[r];
      magnitude += std::fabs(w) * std::max(std::fabs(sc.rowHi[r]), std::fabs(sc.rowLo[r]));
    }
    const float upper = static_cast<float>(b + kSlack * magnitude + kTiny);  // rounding here is within the slack
    sc.bound[static_cast<size_t>(y)] = upper;
    if (upper > sc.bound[static_cast<size_t>(seedRow)]) seedRow = y;
  }

  sc.rows.resize(static_cast<size_t>(m * W));
  sc.rowReady.assign(static_cast<size_t>(m), 0);
  auto resized = [&](int32_t r) -> const float* {
    float* row = sc.rows.data() + static_cast<int64_t>(r) * W;
    if (!sc.rowReady[static_cast<size_t>(r)]) {
      const float* __restrict src = map + static_cast<int64_t>(r) * m;
      for (int64_t x = 0; x < W; ++x) {
        const CubicTaps& tp = sc.xTaps[static_cast<size_t>(x)];
        row[x] = cubicCombine(src[tp.idx[0]], src[tp.idx[1]], src[tp.idx[2]], src[tp.idx[3]], tp.w);
      }
      sc.rowReady[static_cast<size_t>(r)] = 1;
    }
    return row;
  };
  sc.line.resize(static_cast<size_t>(W));
  float* __restrict line = sc.line.data();
  float best = -INFINITY;
  int64_t bestIndex = -1;
  auto visit = [&](int64_t y) {
    const CubicTaps& tp = sc.yTaps[static_cast<size_t>(y)];
    const float* __restrict r0 = resized(tp.idx[0]);
    const float* __restrict r1 = resized(tp.idx[1]);
    const float* __restrict r2 = resized(tp.idx[2]);
    const float* __restrict r3 = resized(tp.idx[3]);
    const float w0 = tp.w[0], w1 = tp.w[1], w2 = tp.w[2], w3 = tp.w[3];
    for (int64_t x = 0; x < W; ++x) line[x] = ((r0[x] * w0 + r1[x] * w1) + r2[x] * w2) + r3[x] * w3;
    const float rowMax = rowMaximum(line, W);
    int64_t x = 0;
    while (x < W - 1 && !(line[x] == rowMax)) ++x;  // first maximum of the row
    const int64_t index = y * W + x;
    if (bestIndex < 0 || rowMax > best || (rowMax == best && index < bestIndex)) {
      best = rowMax;
      bestIndex = index;
    }
  };
  visit(seedRow);
  const float* bound = sc.bound.data();
  int64_t candidates = 0;
  for (int64_t y = 0; y < H; ++y) candidates += (y != seedRow && !(bound[y] < best)) ? 1 : 0;
  // Flat maps (noise-like) leave most rows in play; then resizing every source row with the
  // vectorised column pass (and its exact, tighter bounds) is cheaper than row-wise gathers.
  if (candidates * 8 > H) return decodeMap(map, m, roi, false, sc, bad);
  for (int64_t y = 0; y < H; ++y) {
    if (y != seedRow && !(bound[y] < best)) visit(y);
  }
  Decoded d;
  const int64_t xi = bestIndex % W, yi = bestIndex / W;
  d.x = cellToImage(xi, g.w, W, g.x1);
  d.y = cellToImage(yi, g.h, H, g.y1);
  d.logit = best;
  d.probability = 0.0f;
  return d;
}

void store(const Decoded& d, int64_t item, float* keypoints, float* probability) {
  keypoints[item * 3 + 0] = d.x;
  keypoints[item * 3 + 1] = d.y;
  keypoints[item * 3 + 2] = d.logit;
  if (probability) probability[item] = d.probability;
}

}  // namespace

int defaultThreads() {
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

void ensemble(const float* heatmaps, const Shape& s, const EnsembleSpec& e, float* out, int threads, bool* nonFinite) {
  std::atomic<uint32_t> bad{0};
  const std::vector<int64_t> windows = permClosedWindows(e, s.k);
  parallelFor(s.n, threads, [&](int64_t n, int) {
    if (ensembleRoiByWindows(heatmaps, s, e, n, windows, out + n * s.k * s.mapSize())) bad.store(1);
  });
  *nonFinite = bad.load() != 0;
}

void decode(const float* maps, const Shape& s, const DecodeSpec& d, float* keypoints, float* probability, int threads,
            bool* nonFinite) {
  std::atomic<uint32_t> bad{0};
  std::vector<DecodeScratch> scratch(static_cast<size_t>(std::max(threads, 1)));
  parallelFor(s.n * s.k, threads, [&](int64_t item, int thread) {
    const int64_t n = item / s.k;
    uint32_t b = 0;
    DecodeScratch& sc = scratch[static_cast<size_t>(thread)];
    const float* map = maps + item * s.mapSize();
    const float* roi = d.rois.data() + n * 4;
    const Decoded out = d.probability ? decodeMap(map, s.m, roi, true, sc, &b) : decodeArgmax(map, s.m, roi, sc, &b);
    if (b) bad.store(1);
    store(out, item, keypoints, probability);
  });
  *nonFinite = bad.load() != 0;
}

void ensembleAndDecode(const float* heatmaps, const Shape& s, const EnsembleSpec& e, const DecodeSpec& d,
                       float* keypoints, float* probability, int threads, bool* nonFinite) {
  std::atomic<uint32_t> bad{0};
  std::vector<DecodeScratch> scratch(static_cast<size_t>(std::max(threads, 1)));
  parallelFor(s.n * s.k, threads, [&](int64_t item, int thread) {
    const int64_t n = item / s.k, k = item % s.k;
    DecodeScratch& sc = scratch[static_cast<size_t>(thread)];
    sc.map.resize(static_cast<size_t>(s.mapSize()));
    uint32_t b = ensembleRoi(heatmaps, s, e, n, k, k + 1, sc.map.data());
    const float* roi = d.rois.data() + n * 4;
    const Decoded out = d.probability ? decodeMap(sc.map.data(), s.m, roi, true, sc, &b) : decodeArgmax(sc.map.data(), s.m, roi, sc, &b);
    if (b) bad.store(1);
    store(out, item, keypoints, probability);
  });
  *nonFinite = bad.load() != 0;
}

namespace {
/** Sum of v[lo, hi) in 16 float lanes, so the loop vectorises and runs at the read bandwidth. */
OMNI_HOT double sumRange(const float* __restrict v, int64_t lo, int64_t hi) {
  constexpr int kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = lo;
  for (; i + kLanes <= hi; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] += v[i + j];
  }
  double sum = 0.0;
  for (int j = 0; j < kLanes; ++j) sum += lanes[j];
  for (; i < hi; ++i) sum += v[i];
  return sum;
}

OMNI_HOT void triadRange(float* __restrict a, const float* __restrict b, const float* __restrict c, float s, int64_t lo,
                         int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) a[i] = b[i] + s * c[i];
}
}  // namespace

void triad(float* a, const float* b, const float* c, float s, int64_t length, int threads) {
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(threads, length / 4096 + 1));
  const int64_t per = (length + chunks - 1) / chunks;
  parallelFor(chunks, threads, [&](int64_t chunk, int) {
    const int64_t lo = chunk * per, hi = std::min(length, lo + per);
    triadRange(a, b, c, s, lo, hi);
  });
}

double readSum(const float* a, int64_t length, int threads) {
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(threads, length / 4096 + 1));
  const int64_t per = (length + chunks - 1) / chunks;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallelFor(chunks, threads, [&](int64_t chunk, int) {
    const int64_t lo = chunk * per, hi = std::min(length, lo + per);
    if (lo < hi) partial[static_cast<size_t>(chunk)] = sumRange(a, lo, hi);
  });
  double sum = 0.0;
  for (double p : partial) sum += p;
  return sum;
}

}  // namespace cpu
}  // namespace omni
