// The averaging phase's alternatives behind packages/ensemble/README.md "Averaging vs the triad":
// each row is a whole ensemble phase (or a read-only floor) on the bench's shape (T18 N100 K17
// M56, flips alternating, COCO's perm), timed in the same alternating rounds as the addon's
// triad, and printed as bandwidth % of that round's triad, bytes counted the way the heatmaps
// bench counts them (triad: 4 arrays with write-allocate; averaging: T maps read + the output
// read and written, or written only with streaming stores; read-only rows: T maps).
// Every averaging row's output is checked bit-identical to cpu::ensemble's (rows that write at
// an offset excepted). Each row is preceded by an untimed 64 MiB read that evicts the previous
// row's dirty lines, and the rows after the triad rotate each round: without both, the row
// right after the triad paid for writing back the triad's output (the second look's figures
// for the memory-order kernel came from that position).
// Not built by CMake (GCC vector extensions); compile and run by hand from the repository root
// (arguments: threads, rounds, 1 = buffers on 2 MiB pages, N, and optionally a comma-separated
// list of words: only the rows whose name contains one; with N = 4 the input is 15 MiB, small
// enough for the 32 MiB L3, and the ms per RoI compare a kernel's cost with and without DRAM
// behind it; the % of triad then means nothing):
//   g++ -std=c++17 -O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -pthread native/bench/averaging-variants.cc -o /tmp/averaging-variants
//   /tmp/averaging-variants 2 10 0 100
//   /tmp/averaging-variants 2 30 0 100 "cpu::ensemble,previous,readSum"
#include "../src/kernels_cpu.cc"

#include <immintrin.h>
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <time.h>

namespace {
using namespace omni;

double wallMs() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

/**
 * `count` floats 16 bytes past a fresh anonymous mapping (where a large JS Float32Array's data
 * lands: glibc's chunk header), optionally advised onto 2 MiB pages before first touch.
 */
float* mapFloats(int64_t count, bool hugePages) {
  const size_t page = size_t{2} << 20, bytes = (static_cast<size_t>(count) * sizeof(float) + 16 + page - 1) / page * page;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  if (hugePages) madvise(p, bytes, MADV_HUGEPAGE);
  return reinterpret_cast<float*>(static_cast<char*>(p) + 16);
}

// ---- The kernel before issue 17's third look: one transform at a time over 4 RoIs in memory order ----

/**
 * Combines the T maps of RoIs [n0, n1) for all K keypoints into `out` ([n1 - n0, K, M, M]) one
 * transform at a time, reading that transform's maps of those RoIs in memory order (one
 * sequential stream of (n1 - n0) * K * M * M floats, which [T, N, K, M, M] stores contiguously)
 * and adding source channel c of a flipped transform into output channel perm[c].
 *
 * The ensemble phase uses this rather than ensembleRoi's channel order: a flipped transform
 * read in output-channel order visits its maps in perm's order (0, 2, 1, 4, 3, ... for COCO),
 * and every backwards step restarts the hardware prefetcher; from memory that cost more than
 * the output's extra round trips through the caches. Measured on the 2-core EPYC VM (scratch
 * harness, T = 18, N = 100, K = 17, M = 56, same arithmetic in both orders, CPU time of the
 * averaging phase at 1 thread): 46 ms in channel order, 23 ms in channel order with an
 * identity perm (no backwards steps), 31-32 ms in memory order one RoI at a time, 26-38 ms
 * four RoIs at a time (longer streams, fewer prefetcher restarts), 16-18 ms to read the input
 * once (readSum); 10 and more RoIs at a time measured no better, 50 worse.
 *
 * Every output value still receives the transforms in transform order (a transform's pass ends
 * before the next begins), so the rounding is that of ensembleRoi. The last included transform
 * of a RoI divides each of its maps right after adding to it. Returns nonzero when a value read
 * was NaN/Inf.
 */
OMNI_HOT uint32_t ensembleRoisInMemoryOrder(const float* heatmaps, const Shape& s, const EnsembleSpec& e, int64_t n0,
                                            int64_t n1, float* __restrict out, int64_t headMaps = 0) {
  const int64_t m = s.m, mm = s.mapSize(), block = s.k * mm;
  // Per RoI of the range: the sum of its weights in transform order, its last transform, and
  // whether a transform has written its output yet.
  std::vector<float> weightSum(static_cast<size_t>(n1 - n0), 0.0f);
  std::vector<int64_t> lastIncluded(static_cast<size_t>(n1 - n0), -1);
  std::vector<uint8_t> started(static_cast<size_t>(n1 - n0), 0);
  for (int64_t t = 0; t < s.t; ++t) {
    for (int64_t n = n0; n < n1; ++n) {
      if (!e.included(t, n, s.n)) continue;
      weightSum[static_cast<size_t>(n - n0)] += e.weights[static_cast<size_t>(t)];
      lastIncluded[static_cast<size_t>(n - n0)] = t;
    }
  }
  uint32_t bad = 0;
  for (int64_t t = 0; t < s.t; ++t) {
    const bool flip = e.flipped[static_cast<size_t>(t)] != 0;
    const float w = e.weights[static_cast<size_t>(t)];
    for (int64_t n = n0; n < n1; ++n) {
      const size_t r = static_cast<size_t>(n - n0);
      if (!e.included(t, n, s.n)) continue;
      const bool first = !started[r], last = t == lastIncluded[r];
      started[r] = 1;
      const float* src = heatmaps + (t * s.n + n) * block;
      float* roiOut = out + static_cast<int64_t>(r) * block;
      for (int64_t c = 0; c < s.k; ++c) {
        float* dst = roiOut + (flip ? e.perm[static_cast<size_t>(c)] : c) * mm;
        if (n == n1 - 1 && c >= s.k - headMaps && t + 1 < s.t) {  // (bench only) the next run's first maps, into L2
          const char* p = reinterpret_cast<const char*>(heatmaps + ((t + 1) * s.n + n0) * block + (c - (s.k - headMaps)) * mm);
          for (int64_t b = 0; b < mm * 4; b += 64) __builtin_prefetch(p + b, 0, 2);
        }
        bad |= first ? cpu::combineRows<true>(flip, e.mode, src + c * mm, dst, m, m, w)
                     : cpu::combineRows<false>(flip, e.mode, src + c * mm, dst, m, m, w);
        if (last && e.mode == Mode::Avg) bad |= cpu::divideRun(dst, mm, weightSum[r]);
      }
    }
  }
  return bad;
}

/**
 * RoIs per work item of the ensemble phase: about 1 MiB of output per item (4 RoIs at K = 17,
 * M = 56; see ensembleRoisInMemoryOrder), but at least 4 items per thread so the dynamic split
 * stays even.
 */
int64_t roisPerItem(const Shape& s, int threads) {
  constexpr int64_t kItemOutputBytes = int64_t{1} << 20;
  const int64_t byBytes = kItemOutputBytes / std::max<int64_t>(1, s.k * s.mapSize() * static_cast<int64_t>(sizeof(float)));
  const int64_t byBalance = s.n / (4 * std::max(1, threads));
  return std::max<int64_t>(1, std::min(byBytes, byBalance));
}

// ---- Variant 1: every transform of a row summed in registers, one store per output value ----

typedef float F8 __attribute__((vector_size(32)));
typedef int32_t I8 __attribute__((vector_size(32)));

inline F8 load8(const float* p) {
  F8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline F8 reversed(F8 v) { return __builtin_shufflevector(v, v, 7, 6, 5, 4, 3, 2, 1, 0); }
inline F8 splat(float w) { return F8{w, w, w, w, w, w, w, w}; }

/** One transform's map for the current output channel. */
struct Source {
  const float* map;
  float w;
  bool flip;
};

/**
 * Output values [x, x + 8V) of one row: ((w0 s0 + w1 s1) + w2 s2) ... / weightSum, the same
 * operations in the same order as cpu::ensemble, V vectors kept in registers across all sources.
 */
template <int V, bool Stream>
__attribute__((always_inline)) inline uint32_t averageVectors(const Source* src, int count, int64_t row, int64_t m, int64_t x,
                                                              float weightSum, float* __restrict dst) {
  F8 acc[V] = {};
  for (int i = 0; i < count; ++i) {
    const float* p = src[i].map + row;
    const F8 w = splat(src[i].w);
    for (int v = 0; v < V; ++v) {
      const F8 s = src[i].flip ? reversed(load8(p + m - 8 - (x + 8 * v))) : load8(p + x + 8 * v);
      acc[v] = i == 0 ? w * s : acc[v] + w * s;
    }
  }
  I8 bad = {};
  for (int v = 0; v < V; ++v) {
    const F8 r = acc[v] / splat(weightSum);
    I8 bits;
    std::memcpy(&bits, &r, sizeof bits);
    bad |= (bits & 0x7f800000) == 0x7f800000;
    float* out = dst + row + x + 8 * v;
    if (Stream) {  // 16-byte aligned halves (the output is 16 bytes past a page, rows 224 bytes)
      __m128 half[2];
      std::memcpy(half, &r, sizeof r);
      _mm_stream_ps(out, half[0]);
      _mm_stream_ps(out + 4, half[1]);
    } else {
      std::memcpy(out, &r, sizeof r);
    }
  }
  uint32_t any = 0;
  for (int j = 0; j < 8; ++j) any |= bad[j] != 0;
  return any;
}

template <bool Stream>
__attribute__((always_inline)) inline uint32_t averageRow(const Source* src, int count, int64_t row, int64_t m, float weightSum,
                                                          float* __restrict dst) {
  uint32_t bad = 0;
  int64_t x = 0;
  for (; x + 32 <= m; x += 32) bad |= averageVectors<4, Stream>(src, count, row, m, x, weightSum, dst);
  for (; x + 8 <= m; x += 8) bad |= averageVectors<1, Stream>(src, count, row, m, x, weightSum, dst);
  for (; x < m; ++x) {
    float a = 0.0f;
    for (int i = 0; i < count; ++i) {
      const float v = src[i].flip ? src[i].map[row + m - 1 - x] : src[i].map[row + x];
      a = i == 0 ? src[i].w * v : a + src[i].w * v;
    }
    dst[row + x] = a / weightSum;
    bad |= nonFiniteBit(dst[row + x]);
  }
  return bad;
}

/**
 * RoI n, output channel by channel, row by row, all T transforms per row (flipped ones read in
 * perm's order); `prefetchRows` > 0 prefetches every source's row that many rows ahead.
 */
template <bool Stream>
OMNI_HOT uint32_t averageAllInRegisters(const float* heat, const Shape& s, const EnsembleSpec& e, int64_t n, float* __restrict out,
                                        int64_t prefetchRows) {
  const int64_t m = s.m, mm = s.mapSize();
  std::vector<Source> src;
  std::vector<int64_t> transform;
  float weightSum = 0.0f;
  for (int64_t t = 0; t < s.t; ++t) {
    if (!e.included(t, n, s.n)) continue;
    weightSum += e.weights[static_cast<size_t>(t)];
    transform.push_back(t);
    src.push_back({nullptr, e.weights[static_cast<size_t>(t)], e.flipped[static_cast<size_t>(t)] != 0});
  }
  const int count = static_cast<int>(src.size());
  auto mapOf = [&](int i, int64_t k) { return heat + ((transform[static_cast<size_t>(i)] * s.n + n) * s.k + (src[static_cast<size_t>(i)].flip ? e.perm[static_cast<size_t>(k)] : k)) * mm; };
  uint32_t bad = 0;
  for (int64_t k = 0; k < s.k; ++k) {
    for (int i = 0; i < count; ++i) src[static_cast<size_t>(i)].map = mapOf(i, k);
    for (int64_t y = 0; y < m; ++y) {
      const int64_t ahead = k * m + y + prefetchRows;  // the row that many rows later, in this RoI
      if (prefetchRows > 0 && ahead < s.k * m) {
        for (int i = 0; i < count; ++i) {
          const char* p = reinterpret_cast<const char*>(mapOf(i, ahead / m) + (ahead % m) * m);
          for (int64_t b = 0; b < m * 4; b += 64) __builtin_prefetch(p + b, 0, 0);
        }
      }
      bad |= averageRow<Stream>(src.data(), count, y * m, m, weightSum, out + k * mm);
    }
  }
  if (Stream) _mm_sfence();
  return bad;
}

// ---- Variant 2: G transforms per pass over channel windows closed under perm ----

/** Starts of channel windows of at least minMaps maps that perm maps onto themselves, then K. */
std::vector<int64_t> permClosedWindows(const EnsembleSpec& e, int64_t k, int64_t minMaps) {
  std::vector<int64_t> starts;
  for (int64_t c0 = 0, c1 = 0; c0 < k; c0 = c1) {
    starts.push_back(c0);
    c1 = c0 + 1;
    for (bool grew = true; grew;) {
      grew = false;
      for (int64_t c = c0; c < c1; ++c)
        if (e.perm[static_cast<size_t>(c)] >= c1) c1 = e.perm[static_cast<size_t>(c)] + 1, grew = true;
      if (!grew && c1 - c0 < minMaps && c1 < k) ++c1, grew = true;
    }
  }
  starts.push_back(k);
  return starts;
}

/**
 * RoIs [n0, n1), all weights included: for each group of G transforms, each RoI and window, the
 * group's transforms read the window one after another in memory order (the window's output
 * stays in L1/L2 between them, so each value still receives the transforms in order).
 */
OMNI_HOT uint32_t averageWindowed(const float* heat, const Shape& s, const EnsembleSpec& e, int64_t n0, int64_t n1, float* __restrict out,
                                  int64_t group, const std::vector<int64_t>& windows) {
  const int64_t m = s.m, mm = s.mapSize();
  float weightSum = 0.0f;
  for (float w : e.weights) weightSum += w;
  uint32_t bad = 0;
  for (int64_t t0 = 0; t0 < s.t; t0 += group) {
    for (int64_t n = n0; n < n1; ++n) {
      float* roiOut = out + (n - n0) * s.k * mm;
      for (size_t w = 0; w + 1 < windows.size(); ++w) {
        for (int64_t t = t0; t < std::min(s.t, t0 + group); ++t) {
          const bool flip = e.flipped[static_cast<size_t>(t)] != 0;
          const float* src = heat + (t * s.n + n) * s.k * mm;
          for (int64_t c = windows[w]; c < windows[w + 1]; ++c) {
            float* dst = roiOut + (flip ? e.perm[static_cast<size_t>(c)] : c) * mm;
            const float wt = e.weights[static_cast<size_t>(t)];
            bad |= t == 0 ? cpu::combineRows<true>(flip, e.mode, src + c * mm, dst, m, m, wt) : cpu::combineRows<false>(flip, e.mode, src + c * mm, dst, m, m, wt);
            if (t == s.t - 1) bad |= cpu::divideRun(dst, mm, weightSum);
          }
        }
      }
    }
  }
  return bad;
}

// ---- Variant 3: memory order, the RoIs of an item read as concurrent streams ----

/** As cpu::ensemble's item (all weights included), but RoI r's stream advances `rows` rows per turn. */
OMNI_HOT uint32_t averageInterleavedRois(const float* heat, const Shape& s, const EnsembleSpec& e, int64_t n0, int64_t n1,
                                         float* __restrict out, int64_t rows) {
  const int64_t m = s.m, mm = s.mapSize();
  float weightSum = 0.0f;
  for (float w : e.weights) weightSum += w;
  uint32_t bad = 0;
  for (int64_t t = 0; t < s.t; ++t) {
    const bool flip = e.flipped[static_cast<size_t>(t)] != 0;
    const float w = e.weights[static_cast<size_t>(t)];
    for (int64_t c = 0; c < s.k; ++c) {
      const int64_t oc = flip ? e.perm[static_cast<size_t>(c)] : c;
      for (int64_t y = 0; y < m; y += rows) {
        const int64_t step = std::min(rows, m - y);
        for (int64_t n = n0; n < n1; ++n) {
          const float* src = heat + ((t * s.n + n) * s.k + c) * mm + y * m;
          float* dst = out + ((n - n0) * s.k + oc) * mm + y * m;
          bad |= t == 0 ? cpu::combineRows<true>(flip, e.mode, src, dst, m, step, w) : cpu::combineRows<false>(flip, e.mode, src, dst, m, step, w);
          if (t == s.t - 1) bad |= cpu::divideRun(dst, step * m, weightSum);
        }
      }
    }
  }
  return bad;
}

// ---- Variant 4: one RoI, one small perm-closed channel window, all T transforms, software prefetch ----

inline void store8(float* p, F8 v) { std::memcpy(p, &v, sizeof v); }

/** combineRows for Mode::Avg written with explicit 8-float vectors (the same products and sums). */
template <bool First, bool Flip>
__attribute__((always_inline)) inline void addRowsVec(const float* __restrict src, float* __restrict dst, int64_t m, int64_t rows, float w) {
  const F8 wv = splat(w);
  const int64_t run = Flip ? m : m * rows;
  for (int64_t y = 0; y < (Flip ? rows : 1); ++y) {
    const float* sp = src + y * m;
    float* dp = dst + y * m;
    int64_t x = 0;
    for (; x + 8 <= run; x += 8) {
      const F8 v = Flip ? reversed(load8(sp + m - 8 - x)) : load8(sp + x);
      store8(dp + x, First ? wv * v : load8(dp + x) + wv * v);
    }
    for (; x < run; ++x) {
      const float v = Flip ? sp[m - 1 - x] : sp[x];
      dp[x] = First ? w * v : dp[x] + w * v;
    }
  }
}

inline void addRowsVec(bool first, bool flip, const float* src, float* dst, int64_t m, int64_t rows, float w) {
  if (first) flip ? addRowsVec<true, true>(src, dst, m, rows, w) : addRowsVec<true, false>(src, dst, m, rows, w);
  else flip ? addRowsVec<false, true>(src, dst, m, rows, w) : addRowsVec<false, false>(src, dst, m, rows, w);
}

/** RoI n's sum of included weights (in transform order), first and last included transform. */
struct Included {
  float weightSum = 0.0f;
  int64_t first = -1, last = -1;
};
Included includedTransforms(const Shape& s, const EnsembleSpec& e, int64_t n) {
  Included in;
  for (int64_t t = 0; t < s.t; ++t) {
    if (!e.included(t, n, s.n)) continue;
    in.weightSum += e.weights[static_cast<size_t>(t)];
    if (in.first < 0) in.first = t;
    in.last = t;
  }
  return in;
}

/** A contiguous input run read by one transform for one channel window of one RoI. */
struct Chunk {
  const float* src;
  int64_t t;
  int64_t c0, c1;
};

/**
 * RoI n: for each perm-closed channel window (1-2 maps for COCO, so its output stays in L1),
 * every included transform adds its window (one contiguous run of source maps, flipped ones into
 * perm's channels) in transform order. The T runs of a window come from T regions 21 MB apart,
 * which no hardware prefetcher follows, so `ahead` > 0 prefetches the run `ahead` chunks later
 * into L2, a share of it after each step of 8 rows.
 */
OMNI_HOT uint32_t averageWindowsAllT(const float* heat, const Shape& s, const EnsembleSpec& e, int64_t n, float* __restrict out,
                                     const std::vector<int64_t>& windows, int ahead, int hint, bool vec = false, int64_t kStep = 8,
                                     int64_t preLimit = INT64_MAX, bool prefetchNextOutput = false) {
  const int64_t m = s.m, mm = s.mapSize();
  const auto [weightSum, firstT, lastT] = includedTransforms(s, e, n);
  std::vector<Chunk> chunks;
  for (size_t w = 0; w + 1 < windows.size(); ++w)
    for (int64_t t = 0; t < s.t; ++t)
      if (e.included(t, n, s.n)) chunks.push_back({heat + ((t * s.n + n) * s.k + windows[w]) * mm, t, windows[w], windows[w + 1]});
  uint32_t bad = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& ch = chunks[i];
    const bool flip = e.flipped[static_cast<size_t>(ch.t)] != 0, first = ch.t == firstT, last = ch.t == lastT;
    const float wt = e.weights[static_cast<size_t>(ch.t)];
    if (prefetchNextOutput && first && ch.c1 < s.k) {  // the next window's output, for writing, into L2
      const size_t w = static_cast<size_t>(std::find(windows.begin(), windows.end(), ch.c1) - windows.begin());
      const char* p = reinterpret_cast<const char*>(out + ch.c1 * mm);
      for (int64_t b = 0; b < (windows[w + 1] - ch.c1) * mm * 4; b += 64) __builtin_prefetch(p + b, 1, 2);
    }
    const char* pre = nullptr;
    int64_t preBytes = 0, preDone = 0;
    if (ahead > 0 && i + ahead < chunks.size()) {
      const Chunk& next = chunks[i + ahead];
      pre = reinterpret_cast<const char*>(next.src);
      preBytes = std::min(preLimit, (next.c1 - next.c0) * mm * 4);
    }
    const int64_t steps = (ch.c1 - ch.c0) * ((m + kStep - 1) / kStep);
    int64_t step = 0;
    for (int64_t c = ch.c0; c < ch.c1; ++c) {
      const float* src = ch.src + (c - ch.c0) * mm;
      float* dst = out + (flip ? e.perm[static_cast<size_t>(c)] : c) * mm;
      for (int64_t y = 0; y < m; y += kStep) {
        const int64_t rows = std::min(kStep, m - y);
        if (vec)
          addRowsVec(first, flip, src + y * m, dst + y * m, m, rows, wt);
        else
          bad |= first ? cpu::combineRows<true>(flip, e.mode, src + y * m, dst + y * m, m, rows, wt)
                       : cpu::combineRows<false>(flip, e.mode, src + y * m, dst + y * m, m, rows, wt);
        if (pre) {
          const int64_t until = preBytes * ++step / steps;
          for (; preDone < until; preDone += 64) {
            if (hint == 0) __builtin_prefetch(pre + preDone, 0, 0);
            else if (hint == 2) __builtin_prefetch(pre + preDone, 0, 2);
            else __builtin_prefetch(pre + preDone, 0, 3);
          }
        }
      }
      if (last && e.mode == Mode::Avg) bad |= cpu::divideRun(dst, mm, weightSum);
    }
  }
  return bad;
}

// ---- Variant 5: as 4, each window in bands of rows, so the band's output stays in L1 ----

/** One transform's rows [y0, y1) of the maps of channel window [c0, c1). */
struct Tile {
  int64_t t, c0, c1, y0, y1;
};

/**
 * RoI n: for each perm-closed channel window and each band of `band` rows, every included
 * transform adds its rows of the window's maps in transform order; a band's output (2 maps x 8
 * rows = 3.5 KiB for COCO) stays in L1 while 18 transforms add into it. The tiles come from 18
 * regions 21 MB apart, so the whole tile `ahead` tiles later is prefetched into L2 (prefetcht1).
 */
OMNI_HOT uint32_t averageTiles(const float* heat, const Shape& s, const EnsembleSpec& e, int64_t n, float* __restrict out,
                               const std::vector<int64_t>& windows, int64_t band, int ahead) {
  const int64_t m = s.m, mm = s.mapSize();
  const auto [weightSum, firstT, lastT] = includedTransforms(s, e, n);
  std::vector<Tile> tiles;
  for (size_t w = 0; w + 1 < windows.size(); ++w)
    for (int64_t y = 0; y < m; y += band)
      for (int64_t t = 0; t < s.t; ++t)
        if (e.included(t, n, s.n)) tiles.push_back({t, windows[w], windows[w + 1], y, std::min(m, y + band)});
  auto mapOf = [&](int64_t t, int64_t c) { return heat + ((t * s.n + n) * s.k + c) * mm; };
  uint32_t bad = 0;
  for (size_t i = 0; i < tiles.size(); ++i) {
    if (ahead > 0 && i + ahead < tiles.size()) {
      const Tile& p = tiles[i + ahead];
      for (int64_t c = p.c0; c < p.c1; ++c) {
        const char* a = reinterpret_cast<const char*>(mapOf(p.t, c) + p.y0 * m);
        const char* b = reinterpret_cast<const char*>(mapOf(p.t, c) + p.y1 * m);
        for (; a < b; a += 64) __builtin_prefetch(a, 0, 2);
      }
    }
    const Tile& tl = tiles[i];
    const bool flip = e.flipped[static_cast<size_t>(tl.t)] != 0, first = tl.t == firstT, last = tl.t == lastT;
    const float wt = e.weights[static_cast<size_t>(tl.t)];
    for (int64_t c = tl.c0; c < tl.c1; ++c) {
      float* dst = out + (flip ? e.perm[static_cast<size_t>(c)] : c) * mm + tl.y0 * m;
      addRowsVec(first, flip, mapOf(tl.t, c) + tl.y0 * m, dst, m, tl.y1 - tl.y0, wt);
      if (last && e.mode == Mode::Avg) bad |= cpu::divideRun(dst, (tl.y1 - tl.y0) * m, weightSum);
    }
  }
  return bad;
}

/** Variant 4's reads alone: the same runs in the same order, prefetched the same way, summed. */
OMNI_HOT float sumWindowsAllT(const float* heat, const Shape& s, int64_t n, const std::vector<int64_t>& windows, int ahead,
                              int64_t preLimit = INT64_MAX) {
  const int64_t mm = s.mapSize();
  std::vector<std::pair<const float*, int64_t>> runs;
  for (size_t w = 0; w + 1 < windows.size(); ++w)
    for (int64_t t = 0; t < s.t; ++t) runs.push_back({heat + ((t * s.n + n) * s.k + windows[w]) * mm, (windows[w + 1] - windows[w]) * mm});
  float lanes[16] = {};
  for (size_t i = 0; i < runs.size(); ++i) {
    const char* pre = ahead > 0 && i + ahead < runs.size() ? reinterpret_cast<const char*>(runs[i + ahead].first) : nullptr;
    const int64_t preBytes = pre ? std::min(preLimit, runs[i + ahead].second * 4) : 0, len = runs[i].second;
    int64_t done = 0;
    for (int64_t x = 0; x + 16 <= len; x += 16) {
      for (int j = 0; j < 16; ++j) lanes[j] += runs[i].first[x + j];
      for (const int64_t until = preBytes * (x + 16) / len; done < until; done += 64) __builtin_prefetch(pre + done, 0, 2);
    }
  }
  float sum = 0.0f;
  for (float x : lanes) sum += x;
  return sum;
}

// ---- Variant 6: memory order, G transforms per pass, each one channel window behind the previous ----

/**
 * RoIs [n0, n1): transforms taken `group` at a time; each reads its maps of those RoIs in memory
 * order (one long forward stream per transform, as cpu::ensemble), but the group's streams run
 * together, transform t0 + g one perm-closed window behind t0 + g - 1, so a window has received
 * transform t before t + 1 adds into it (flipped ones add source channel c into perm[c], within
 * the window). The output is visited once per group instead of once per transform, and the
 * windows in use (group x 1-2 maps) stay in L1/L2.
 */
OMNI_HOT uint32_t averageLaggedStreams(const float* heat, const Shape& s, const EnsembleSpec& e, int64_t n0, int64_t n1, float* __restrict out,
                                       const std::vector<int64_t>& windows, int64_t group, bool vec) {
  const int64_t m = s.m, mm = s.mapSize(), block = s.k * mm, perRoi = static_cast<int64_t>(windows.size()) - 1;
  const int64_t steps = (n1 - n0) * perRoi;
  std::vector<float> weightSum(static_cast<size_t>(n1 - n0), 0.0f);
  std::vector<int64_t> firstT(static_cast<size_t>(n1 - n0), -1), lastT(static_cast<size_t>(n1 - n0), -1);
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t t = 0; t < s.t; ++t) {
      if (!e.included(t, n, s.n)) continue;
      const size_t r = static_cast<size_t>(n - n0);
      weightSum[r] += e.weights[static_cast<size_t>(t)];
      if (firstT[r] < 0) firstT[r] = t;
      lastT[r] = t;
    }
  uint32_t bad = 0;
  for (int64_t t0 = 0; t0 < s.t; t0 += group) {
    const int64_t g1 = std::min(group, s.t - t0);
    for (int64_t i = 0; i < steps + g1 - 1; ++i) {
      for (int64_t g = 0; g < g1; ++g) {
        const int64_t j = i - g, t = t0 + g;
        if (j < 0 || j >= steps) continue;
        const int64_t n = n0 + j / perRoi, w = j % perRoi;
        if (!e.included(t, n, s.n)) continue;
        const size_t r = static_cast<size_t>(n - n0);
        const bool flip = e.flipped[static_cast<size_t>(t)] != 0, first = t == firstT[r], last = t == lastT[r];
        const float wt = e.weights[static_cast<size_t>(t)];
        const float* src = heat + (t * s.n + n) * block;
        float* roiOut = out + static_cast<int64_t>(r) * block;
        for (int64_t c = windows[static_cast<size_t>(w)]; c < windows[static_cast<size_t>(w) + 1]; ++c) {
          float* dst = roiOut + (flip ? e.perm[static_cast<size_t>(c)] : c) * mm;
          if (vec)
            addRowsVec(first, flip, src + c * mm, dst, m, m, wt);
          else
            bad |= first ? cpu::combineRows<true>(flip, e.mode, src + c * mm, dst, m, m, wt) : cpu::combineRows<false>(flip, e.mode, src + c * mm, dst, m, m, wt);
        }
        if (last && e.mode == Mode::Avg)
          for (int64_t c = windows[static_cast<size_t>(w)]; c < windows[static_cast<size_t>(w) + 1]; ++c) bad |= cpu::divideRun(roiOut + c * mm, mm, weightSum[r]);
      }
    }
  }
  return bad;
}

// ---- Variant 7: the kernel's order, but the 2 threads on neighbouring windows of the same RoI ----

/**
 * Thread `part` of `parts` takes (RoI, window) items part, part + parts, ... (all transforms
 * included), so the threads read neighbouring runs of the same T regions rather than runs 213 KB
 * apart; each thread prefetches 2 runs ahead along its own sequence, across items.
 */
OMNI_HOT uint32_t averageInterleavedWindows(const float* heat, const Shape& s, const EnsembleSpec& e, float* __restrict out,
                                            const std::vector<int64_t>& windows, int64_t part, int64_t parts) {
  const int64_t m = s.m, mm = s.mapSize(), perRoi = static_cast<int64_t>(windows.size()) - 1;
  float weightSum = 0.0f;
  for (float w : e.weights) weightSum += w;
  struct Run {
    int64_t n, w, t;
  };
  std::vector<Run> runs;
  for (int64_t item = part; item < s.n * perRoi; item += parts)
    for (int64_t t = 0; t < s.t; ++t) runs.push_back({item / perRoi, item % perRoi, t});
  auto start = [&](const Run& r, int64_t c) { return heat + ((r.t * s.n + r.n) * s.k + c) * mm; };
  uint32_t bad = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    const int64_t c0 = windows[static_cast<size_t>(r.w)], c1 = windows[static_cast<size_t>(r.w) + 1];
    if (i + 2 < runs.size()) {
      const Run& a = runs[i + 2];
      const char* p = reinterpret_cast<const char*>(start(a, windows[static_cast<size_t>(a.w)]));
      const char* q = reinterpret_cast<const char*>(start(a, windows[static_cast<size_t>(a.w) + 1]));
      for (; p < q; p += 64) __builtin_prefetch(p, 0, 2);
    }
    const bool flip = e.flipped[static_cast<size_t>(r.t)] != 0;
    const float wt = e.weights[static_cast<size_t>(r.t)];
    for (int64_t c = c0; c < c1; ++c) {
      float* dst = out + (r.n * s.k + (flip ? e.perm[static_cast<size_t>(c)] : c)) * mm;
      bad |= r.t == 0 ? cpu::combineRows<true>(flip, e.mode, start(r, c), dst, m, m, wt) : cpu::combineRows<false>(flip, e.mode, start(r, c), dst, m, m, wt);
    }
    if (r.t == s.t - 1)
      for (int64_t c = c0; c < c1; ++c) bad |= cpu::divideRun(out + (r.n * s.k + c) * mm, mm, weightSum);
  }
  return bad;
}

// ---- Variant 8: one output map at a time, all T into it, each source map prefetched ahead ----

/**
 * RoI n, output channel by output channel: every included transform adds its map (source
 * channel perm[oc] when flipped) in transform order, so the output map (12.5 KB) stays in L1
 * next to the one input map streaming through; the map `ahead` units later is prefetched into
 * L2 (a flipped transform's maps are then visited in perm's order, which only the prefetches
 * see).
 */
OMNI_HOT uint32_t averageMapsAllT(const float* heat, const Shape& s, const EnsembleSpec& e, int64_t n, float* __restrict out, int ahead) {
  const int64_t m = s.m, mm = s.mapSize();
  const auto [weightSum, firstT, lastT] = includedTransforms(s, e, n);
  std::vector<const float*> src;  // unit u: the source map of the u-th addition
  std::vector<int64_t> unitT;
  for (int64_t oc = 0; oc < s.k; ++oc)
    for (int64_t t = 0; t < s.t; ++t)
      if (e.included(t, n, s.n)) {
        src.push_back(heat + ((t * s.n + n) * s.k + (e.flipped[static_cast<size_t>(t)] ? e.perm[static_cast<size_t>(oc)] : oc)) * mm);
        unitT.push_back(t);
      }
  const size_t perMap = src.size() / static_cast<size_t>(s.k);
  uint32_t bad = 0;
  const int64_t steps = (m + 7) / 8, mapBytes = mm * 4;
  for (size_t u = 0; u < src.size(); ++u) {
    const int64_t t = unitT[u], oc = static_cast<int64_t>(u / perMap);
    const bool flip = e.flipped[static_cast<size_t>(t)] != 0;
    const float wt = e.weights[static_cast<size_t>(t)];
    float* dst = out + oc * mm;
    const char* pre = u + ahead < src.size() && ahead > 0 ? reinterpret_cast<const char*>(src[u + ahead]) : nullptr;
    int64_t done = 0, step = 0;
    for (int64_t y = 0; y < m; y += 8) {
      const int64_t rows = std::min<int64_t>(8, m - y);
      bad |= t == firstT ? cpu::combineRows<true>(flip, e.mode, src[u] + y * m, dst + y * m, m, rows, wt)
                         : cpu::combineRows<false>(flip, e.mode, src[u] + y * m, dst + y * m, m, rows, wt);
      if (pre)
        for (const int64_t until = mapBytes * ++step / steps; done < until; done += 64) __builtin_prefetch(pre + done, 0, 2);
    }
    if (t == lastT && e.mode == Mode::Avg) bad |= cpu::divideRun(dst, mm, weightSum);
  }
  return bad;
}

// ---- Read-only floor with several streams per thread ----

/** Sum of [lo, hi) read as `streams` equal parts at once, 224 floats of each per turn. */
OMNI_HOT float sumInterleavedStreams(const float* v, int64_t lo, int64_t hi, int64_t streams) {
  constexpr int64_t kChunk = 224;
  const int64_t part = (hi - lo) / streams / kChunk * kChunk;
  float lanes[16] = {};
  for (int64_t off = 0; off < part; off += kChunk)
    for (int64_t st = 0; st < streams; ++st) {
      const float* p = v + lo + st * part + off;
      for (int64_t i = 0; i < kChunk; i += 16)
        for (int j = 0; j < 16; ++j) lanes[j] += p[i + j];
    }
  float sum = 0.0f;
  for (float x : lanes) sum += x;
  return sum;
}
}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2, rounds = argc > 2 ? std::atoi(argv[2]) : 10;
  const bool hugePages = argc > 3 && std::atoi(argv[3]) != 0;
  Shape s;
  s.t = 18, s.n = argc > 4 ? std::atoi(argv[4]) : 100, s.k = 17, s.m = 56;
  const int64_t block = s.k * s.mapSize(), outputs = s.n * block, triadLength = int64_t{32} << 20;
  float* heat = mapFloats(s.elements(), hugePages);
  float* out = mapFloats(outputs + 1024, hugePages);  // room for the rows that write at an offset
  float* expected = mapFloats(outputs, hugePages);
  float *a = mapFloats(triadLength, hugePages), *b = mapFloats(triadLength, hugePages), *c = mapFloats(triadLength, hugePages);
  for (int64_t i = 0; i < triadLength; ++i) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;
  const int64_t flushLength = int64_t{16} << 20;
  float* flush = mapFloats(flushLength, hugePages);
  std::fill(flush, flush + flushLength, 1.0f);
  std::mt19937 random(1);
  for (int64_t i = 0; i < s.elements(); ++i) heat[i] = static_cast<float>(random() % 8000) / 1000.0f - 4.0f;
  EnsembleSpec e;
  for (int64_t t = 0; t < s.t; ++t) e.flipped.push_back(t % 2), e.weights.push_back(1.0f);
  for (int32_t k = 0; k < s.k; ++k) e.perm.push_back(k);
  for (int64_t k = 1; k + 1 < s.k; k += 2) std::swap(e.perm[static_cast<size_t>(k)], e.perm[static_cast<size_t>(k + 1)]);  // COCO's pairs
  bool bad = false;
  cpu::ensemble(heat, s, e, expected, threads, &bad);

  const double T = static_cast<double>(s.t);
  const std::vector<int64_t> windows = permClosedWindows(e, s.k, 2), smallWindows = permClosedWindows(e, s.k, 1),
                             windows9 = permClosedWindows(e, s.k, 9);
  std::atomic<float> sink{0};
  auto perRoi = [&](auto kernel) { return [&, kernel] { cpu::parallelFor(s.n, threads, [&](int64_t n, int) { kernel(n, out + n * block); }); }; };
  auto perItem = [&](int64_t rois, auto kernel) {
    return [&, rois, kernel] { cpu::parallelFor((s.n + rois - 1) / rois, threads, [&](int64_t i, int) { kernel(i * rois, std::min(s.n, (i + 1) * rois), out + i * rois * block); }); };
  };
  auto readStreams = [&](int64_t streams) {
    return [&, streams] {
      const int64_t per = s.elements() / threads;
      cpu::parallelFor(threads, threads, [&](int64_t i, int) { sink.store(sumInterleavedStreams(heat, i * per, (i + 1) * per, streams)); });
    };
  };
  struct Row {
    std::string name;
    double maps;  // heatmap-sized arrays moved (0: the triad itself)
    std::function<void()> run;
    std::vector<double> wall = {}, ratio = {};
  };
  std::vector<Row> rows = {
      {"triad (the reference)", 0, [&] { cpu::triad(a, b, c, 3.0f, triadLength, threads); }},
      // The kernel: per RoI, per perm-closed window, all T; the run 2 ahead prefetched into L2.
      {"cpu::ensemble (windows, pf 2)", T + 2, [&] { cpu::ensemble(heat, s, e, out, threads, &bad); }},
      {"  output +128 B (4K aliasing)", T + 2, [&] { cpu::ensemble(heat, s, e, out + 32, threads, &bad); }},
      {"  output +2 KiB (4K aliasing)", T + 2, [&] { cpu::ensemble(heat, s, e, out + 512, threads, &bad); }},
      {"maps, pf 2", T + 2, perRoi([&](int64_t n, float* o) { averageMapsAllT(heat, s, e, n, o, 2); })},
      {"maps, pf 3", T + 2, perRoi([&](int64_t n, float* o) { averageMapsAllT(heat, s, e, n, o, 3); })},
      {"maps, pf 5", T + 2, perRoi([&](int64_t n, float* o) { averageMapsAllT(heat, s, e, n, o, 5); })},
      {"windows, no prefetch", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 0, 2); })},
      {"windows, pf 1", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 1, 2); })},
      {"windows, pf 4", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 4, 2); })},
      {"windows, pf 9", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 9, 2); })},
      {"windows, pf 1 into L1", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 1, 3); })},
      {"windows, pf 1 nta", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 1, 0); })},
      {"windows, pf 2 of each run 4K", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 2, 2, false, 8, 4096); })},
      {"windows, pf 2, next output prefetched", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 2, 2, false, 8, INT64_MAX, true); })},
      {"windows, pf 2, 8-float vectors", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, smallWindows, 2, 2, true); })},
      {"windows >= 9 maps, pf 2", T + 2, perRoi([&](int64_t n, float* o) { averageWindowsAllT(heat, s, e, n, o, windows9, 2, 2); })},
      {"windows, bands of 8 rows, pf 8", T + 2, perRoi([&](int64_t n, float* o) { averageTiles(heat, s, e, n, o, smallWindows, 8, 8); })},
      {"windows, bands of 14 rows, pf 8", T + 2, perRoi([&](int64_t n, float* o) { averageTiles(heat, s, e, n, o, smallWindows, 14, 8); })},
      {"threads on neighbouring windows", T + 2, [&] { cpu::parallelFor(threads, threads, [&](int64_t i, int) { averageInterleavedWindows(heat, s, e, out, smallWindows, i, threads); }); }},
      // The previous kernel (memory order) and its splits.
      {"previous: memory order, 4 RoIs", T + 2, perItem(roisPerItem(s, threads), [&](int64_t n0, int64_t n1, float* o) { ensembleRoisInMemoryOrder(heat, s, e, n0, n1, o); })},
      {"  1 RoI per item, next run's 2 maps pf", T + 2, perItem(1, [&](int64_t n0, int64_t n1, float* o) { ensembleRoisInMemoryOrder(heat, s, e, n0, n1, o, 2); })},
      {"  2 RoIs per item, next run's 2 maps pf", T + 2, perItem(2, [&](int64_t n0, int64_t n1, float* o) { ensembleRoisInMemoryOrder(heat, s, e, n0, n1, o, 2); })},
      {"  4 RoIs, next run's 2 maps pf", T + 2, perItem(4, [&](int64_t n0, int64_t n1, float* o) { ensembleRoisInMemoryOrder(heat, s, e, n0, n1, o, 2); })},
      {"  1 RoI per item", T + 2, perItem(1, [&](int64_t n0, int64_t n1, float* o) { ensembleRoisInMemoryOrder(heat, s, e, n0, n1, o); })},
      {"  static halves, 4 RoIs", T + 2, [&] { cpu::parallelFor(threads, threads, [&](int64_t i, int) { const int64_t n0 = s.n * i / threads, n1 = s.n * (i + 1) / threads; for (int64_t a = n0; a < n1; a += 4) ensembleRoisInMemoryOrder(heat, s, e, a, std::min(n1, a + 4), out + a * block); }); }},
      {"  2 per group, 1 window lag", T + 2, perItem(4, [&](int64_t n0, int64_t n1, float* o) { averageLaggedStreams(heat, s, e, n0, n1, o, smallWindows, 2, false); })},
      {"  6 per group, 1 window lag", T + 2, perItem(4, [&](int64_t n0, int64_t n1, float* o) { averageLaggedStreams(heat, s, e, n0, n1, o, smallWindows, 6, false); })},
      // Earlier variants (issue 17, second look).
      {"all T in registers", T + 2, perRoi([&](int64_t n, float* o) { averageAllInRegisters<false>(heat, s, e, n, o, 0); })},
      {"  + 4-row prefetch", T + 2, perRoi([&](int64_t n, float* o) { averageAllInRegisters<false>(heat, s, e, n, o, 4); })},
      {"  + streaming stores", T + 1, perRoi([&](int64_t n, float* o) { averageAllInRegisters<true>(heat, s, e, n, o, 4); })},
      {"2 per window, 4 RoIs", T + 2, perItem(4, [&](int64_t n0, int64_t n1, float* o) { averageWindowed(heat, s, e, n0, n1, o, 2, windows); })},
      {"2 RoIs interleaved, 8 rows", T + 2, perItem(2, [&](int64_t n0, int64_t n1, float* o) { averageInterleavedRois(heat, s, e, n0, n1, o, 8); })},
      // Read-only floors.
      {"read-only: readSum", T, [&] { sink.store(static_cast<float>(cpu::readSum(heat, s.elements(), threads))); }},
      {"read-only: 4 streams/thread", T, readStreams(4)},
      {"read-only: windows, pf 2", T, perRoi([&](int64_t n, float*) { sink.store(sumWindowsAllT(heat, s, n, smallWindows, 2)); })},
      {"read-only: windows, no pf", T, perRoi([&](int64_t n, float*) { sink.store(sumWindowsAllT(heat, s, n, smallWindows, 0)); })},
      {"read-only: windows, pf 2 of 4K", T, perRoi([&](int64_t n, float*) { sink.store(sumWindowsAllT(heat, s, n, smallWindows, 2, 4096)); })},
      {"read-only: T runs of 1 RoI", T, perRoi([&](int64_t n, float*) { sink.store(sumWindowsAllT(heat, s, n, {0, s.k}, 0)); })},
  };
  if (argc > 5) {  // only the rows whose name contains one of the comma-separated words (and the triad)
    const std::string words = std::string(",") + argv[5] + ",";
    std::vector<Row> kept;
    for (Row& row : rows) {
      bool keep = row.maps == 0;
      for (size_t a = 1, b; a < words.size() && (b = words.find(',', a)) != std::string::npos; a = b + 1)
        keep = keep || (b > a && row.name.find(words.substr(a, b - a)) != std::string::npos);
      if (keep) kept.push_back(row);
    }
    rows = kept;
  }
  const double mapBytes = static_cast<double>(outputs) * sizeof(float), triadBytes = 4.0 * sizeof(float) * static_cast<double>(triadLength);
  for (int r = 0; r < rounds; ++r) {
    // The triad first, then the rows in an order rotated each round.
    // Before each row, untimed, a read of 64 MiB (twice the L3) evicts the dirty lines the
    // previous one left (up to the whole 21 MB output, or the triad's `a`); not where the input
    // is meant to stay in L3.
    double triadMs = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      Row& row = rows[i == 0 ? 0 : 1 + (i - 1 + static_cast<size_t>(r)) % (rows.size() - 1)];
      if (s.elements() > flushLength) sink.store(static_cast<float>(cpu::readSum(flush, flushLength, 1)));  // not at N = 4
      const double w0 = wallMs();
      row.run();
      const double ms = wallMs() - w0;
      row.wall.push_back(ms);
      if (row.maps == 0) triadMs = ms;
      row.ratio.push_back(row.maps == 0 ? 1.0 : (row.maps * mapBytes / ms) / (triadBytes / triadMs));
      if (row.maps > T && r == 0 && row.name.find("output +") == std::string::npos && std::memcmp(out, expected, static_cast<size_t>(outputs) * sizeof(float)) != 0)
        std::printf("OUTPUT DIFFERS from cpu::ensemble: %s\n", row.name.c_str());
    }
  }
  std::printf("%d thread(s), %d alternating rounds, N = %lld, %s pages: best / median wall (ms), best ms per RoI, median bandwidth %% of the same round's triad\n",
              threads, rounds, static_cast<long long>(s.n), hugePages ? "2 MiB" : "4 KiB");
  for (Row& row : rows) {
    const double best = *std::min_element(row.wall.begin(), row.wall.end());
    std::printf("  %-40s %7.2f / %7.2f   %6.3f   %5.1f %%\n", row.name.c_str(), best, median(row.wall), row.maps == 0 ? 0.0 : best / static_cast<double>(s.n),
                100 * median(row.ratio));
  }
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    char line[128] = {};
    if (std::fgets(line, sizeof line, f)) std::printf("load average %s", line);
    std::fclose(f);
  }
  return bad ? 1 : 0;
}
