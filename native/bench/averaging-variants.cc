// The averaging phase's alternatives behind packages/ensemble/README.md "Averaging vs the triad":
// each row is a whole ensemble phase (or a read-only floor) on the bench's shape (T18 N100 K17
// M56, flips alternating, COCO's perm), timed in the same alternating rounds as the addon's
// triad, and printed as bandwidth % of that round's triad, bytes counted the way the heatmaps
// bench counts them (triad: 4 arrays with write-allocate; averaging: T maps read + the output
// read and written, or written only with streaming stores; read-only rows: T maps).
// Every averaging row's output is checked bit-identical to cpu::ensemble's.
// Not built by CMake (GCC vector extensions); compile and run by hand from the repository root
// (arguments: threads, rounds, 1 = buffers on 2 MiB pages, N; with N = 4 the input is 15 MiB,
// small enough for the 32 MiB L3, and the ms per RoI compare a kernel's cost with and without
// DRAM behind it; the % of triad then means nothing):
//   g++ -std=c++17 -O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -pthread native/bench/averaging-variants.cc -o /tmp/averaging-variants
//   /tmp/averaging-variants 2 10 0 100
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
  float* out = mapFloats(outputs, hugePages);
  float* expected = mapFloats(outputs, hugePages);
  float *a = mapFloats(triadLength, hugePages), *b = mapFloats(triadLength, hugePages), *c = mapFloats(triadLength, hugePages);
  for (int64_t i = 0; i < triadLength; ++i) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;
  std::mt19937 random(1);
  for (int64_t i = 0; i < s.elements(); ++i) heat[i] = static_cast<float>(random() % 8000) / 1000.0f - 4.0f;
  EnsembleSpec e;
  for (int64_t t = 0; t < s.t; ++t) e.flipped.push_back(t % 2), e.weights.push_back(1.0f);
  for (int32_t k = 0; k < s.k; ++k) e.perm.push_back(k);
  for (int64_t k = 1; k + 1 < s.k; k += 2) std::swap(e.perm[static_cast<size_t>(k)], e.perm[static_cast<size_t>(k + 1)]);  // COCO's pairs
  bool bad = false;
  cpu::ensemble(heat, s, e, expected, threads, &bad);

  const double T = static_cast<double>(s.t);
  const std::vector<int64_t> windows = permClosedWindows(e, s.k, 2);
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
      {"cpu::ensemble (memory order)", T + 2, [&] { cpu::ensemble(heat, s, e, out, threads, &bad); }},
      {"all T in registers", T + 2, perRoi([&](int64_t n, float* o) { averageAllInRegisters<false>(heat, s, e, n, o, 0); })},
      {"  + 4-row prefetch", T + 2, perRoi([&](int64_t n, float* o) { averageAllInRegisters<false>(heat, s, e, n, o, 4); })},
      {"  + streaming stores", T + 1, perRoi([&](int64_t n, float* o) { averageAllInRegisters<true>(heat, s, e, n, o, 4); })},
      {"2 per window, 4 RoIs", T + 2, perItem(4, [&](int64_t n0, int64_t n1, float* o) { averageWindowed(heat, s, e, n0, n1, o, 2, windows); })},
      {"2 RoIs interleaved, 8 rows", T + 2, perItem(2, [&](int64_t n0, int64_t n1, float* o) { averageInterleavedRois(heat, s, e, n0, n1, o, 8); })},
      {"read-only: readSum", T, [&] { sink.store(static_cast<float>(cpu::readSum(heat, s.elements(), threads))); }},
      {"read-only: 4 streams/thread", T, readStreams(4)},
  };
  const double mapBytes = static_cast<double>(outputs) * sizeof(float), triadBytes = 4.0 * sizeof(float) * static_cast<double>(triadLength);
  for (int r = 0; r < rounds; ++r) {
    double triadMs = 0;
    for (Row& row : rows) {
      const double w0 = wallMs();
      row.run();
      const double ms = wallMs() - w0;
      row.wall.push_back(ms);
      if (row.maps == 0) triadMs = ms;
      row.ratio.push_back(row.maps == 0 ? 1.0 : (row.maps * mapBytes / ms) / (triadBytes / triadMs));
      if (row.maps > T && r == 0 && std::memcmp(out, expected, static_cast<size_t>(outputs) * sizeof(float)) != 0)
        std::printf("OUTPUT DIFFERS from cpu::ensemble: %s\n", row.name.c_str());
    }
  }
  std::printf("%d thread(s), %d alternating rounds, N = %lld, %s pages: best / median wall (ms), best ms per RoI, median bandwidth %% of the same round's triad\n",
              threads, rounds, static_cast<long long>(s.n), hugePages ? "2 MiB" : "4 KiB");
  for (Row& row : rows) {
    const double best = *std::min_element(row.wall.begin(), row.wall.end());
    std::printf("  %-30s %7.2f / %7.2f   %6.3f   %5.1f %%\n", row.name.c_str(), best, median(row.wall), row.maps == 0 ? 0.0 : best / static_cast<double>(s.n),
                100 * median(row.ratio));
  }
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    char line[128] = {};
    if (std::fgets(line, sizeof line, f)) std::printf("load average %s", line);
    std::fclose(f);
  }
  return bad ? 1 : 0;
}
