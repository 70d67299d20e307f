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

/**
 * Combines the T maps of RoI n, keypoint k into `out` (M*M floats), un-flipping flipped
 * transforms (channel perm[k], x reversed). Avg: sum of w_t * map_t in transform order, then
 * divided by the sum of the weights (numpy's float32 mean when all weights are 1).
 * Returns nonzero when a value read was NaN/Inf.
 */
uint32_t ensembleChannel(const float* heatmaps, const Shape& s, const EnsembleSpec& e, int64_t n, int64_t k,
                         float* __restrict out) {
  const int64_t m = s.m, mm = s.mapSize();
  uint32_t bad = 0;
  bool first = true;
  float weightSum = 0.0f;
  for (int64_t t = 0; t < s.t; ++t) {
    if (!e.included(t, n, s.n)) continue;
    const bool flip = e.flipped[static_cast<size_t>(t)] != 0;
    const int64_t channel = flip ? e.perm[static_cast<size_t>(k)] : k;
    const float* __restrict src = heatmaps + ((t * s.n + n) * s.k + channel) * mm;
    const float w = e.weights[static_cast<size_t>(t)];
    weightSum += w;
    for (int64_t y = 0; y < m; ++y) {
      const float* __restrict row = src + y * m;
      float* __restrict dst = out + y * m;
      if (e.mode == Mode::Avg) {
        if (first) {
          if (flip) for (int64_t x = 0; x < m; ++x) { const float v = row[m - 1 - x]; bad |= nonFiniteBit(v); dst[x] = w * v; }
          else for (int64_t x = 0; x < m; ++x) { const float v = row[x]; bad |= nonFiniteBit(v); dst[x] = w * v; }
        } else {
          if (flip) for (int64_t x = 0; x < m; ++x) { const float v = row[m - 1 - x]; bad |= nonFiniteBit(v); dst[x] += w * v; }
          else for (int64_t x = 0; x < m; ++x) { const float v = row[x]; bad |= nonFiniteBit(v); dst[x] += w * v; }
        }
      } else {
        if (first) {
          if (flip) for (int64_t x = 0; x < m; ++x) { const float v = row[m - 1 - x]; bad |= nonFiniteBit(v); dst[x] = v; }
          else for (int64_t x = 0; x < m; ++x) { const float v = row[x]; bad |= nonFiniteBit(v); dst[x] = v; }
        } else {
          if (flip) for (int64_t x = 0; x < m; ++x) { const float v = row[m - 1 - x]; bad |= nonFiniteBit(v); dst[x] = v > dst[x] ? v : dst[x]; }
          else for (int64_t x = 0; x < m; ++x) { const float v = row[x]; bad |= nonFiniteBit(v); dst[x] = v > dst[x] ? v : dst[x]; }
        }
      }
    }
    first = false;
  }
  if (e.mode == Mode::Avg) {
    for (int64_t i = 0; i < mm; ++i) out[i] = out[i] / weightSum;
  }
  return bad;
}

/** Per-thread scratch for decoding, grown on demand and reused across work items. */
struct DecodeScratch {
  std::vector<CubicTaps> xTaps, yTaps;
  std::vector<float> rows;     // [M, W]: source rows resized along x (only rows some output needs)
  std::vector<uint8_t> needed; // [M]: whether a source row is a y tap of some output row
  std::vector<float> line;     // [W]: one output row
  std::vector<float> map;      // [M, M]: the fused kernel's combined map
};

struct Decoded {
  float x, y, logit, probability;
};

/**
 * Bicubic-resizes one M x M map to H x W (separably: rows along x first, then columns, the
 * same operation order as PyTorch's kernel), takes the first maximum, and maps it back to
 * the image. The full H x W map is never stored: one output row at a time, with an online
 * softmax normaliser (running max + rescaled sum) for the probability.
 */
Decoded decodeMap(const float* __restrict map, int64_t m, const float* roi, bool wantProbability,
                  DecodeScratch& sc, uint32_t* bad) {
  const RoiGeometry g = roiGeometry(roi);
  const int64_t W = g.W, H = g.H;
  sc.xTaps.resize(static_cast<size_t>(W));
  sc.yTaps.resize(static_cast<size_t>(H));
  const float scaleX = resizeScale(m, W), scaleY = resizeScale(m, H);
  for (int64_t x = 0; x < W; ++x) sc.xTaps[static_cast<size_t>(x)] = cubicTaps(x, m, scaleX);
  sc.needed.assign(static_cast<size_t>(m), 0);
  for (int64_t y = 0; y < H; ++y) {
    sc.yTaps[static_cast<size_t>(y)] = cubicTaps(y, m, scaleY);
    for (int j = 0; j < 4; ++j) sc.needed[static_cast<size_t>(sc.yTaps[static_cast<size_t>(y)].idx[j])] = 1;
  }

  uint32_t badBits = 0;
  for (int64_t i = 0; i < m * m; ++i) badBits |= nonFiniteBit(map[i]);
  *bad |= badBits;

  sc.rows.resize(static_cast<size_t>(m * W));
  const CubicTaps* __restrict xt = sc.xTaps.data();
  for (int64_t r = 0; r < m; ++r) {
    if (!sc.needed[static_cast<size_t>(r)]) continue;
    const float* __restrict src = map + r * m;
    float* __restrict dst = sc.rows.data() + r * W;
    for (int64_t x = 0; x < W; ++x) {
      const CubicTaps& tp = xt[x];
      dst[x] = cubicCombine(src[tp.idx[0]], src[tp.idx[1]], src[tp.idx[2]], src[tp.idx[3]], tp.w);
    }
  }

  sc.line.resize(static_cast<size_t>(W));
  float* __restrict line = sc.line.data();
  float best = -INFINITY;
  int64_t bestIndex = -1;
  double softMax = -INFINITY, softSum = 0.0;  // online softmax: sum of exp(v - softMax)
  for (int64_t y = 0; y < H; ++y) {
    const CubicTaps& tp = sc.yTaps[static_cast<size_t>(y)];
    const float* __restrict r0 = sc.rows.data() + tp.idx[0] * W;
    const float* __restrict r1 = sc.rows.data() + tp.idx[1] * W;
    const float* __restrict r2 = sc.rows.data() + tp.idx[2] * W;
    const float* __restrict r3 = sc.rows.data() + tp.idx[3] * W;
    const float w0 = tp.w[0], w1 = tp.w[1], w2 = tp.w[2], w3 = tp.w[3];
    float rowMax = -INFINITY;
    for (int64_t x = 0; x < W; ++x) {
      const float v = ((r0[x] * w0 + r1[x] * w1) + r2[x] * w2) + r3[x] * w3;
      line[x] = v;
      rowMax = v > rowMax ? v : rowMax;
    }
    if (rowMax > best || bestIndex < 0) {
      int64_t x = 0;
      while (x < W - 1 && !(line[x] == rowMax)) ++x;  // first maximum of the row
      best = line[x];
      bestIndex = y * W + x;
    }
    if (wantProbability) {
      const double rm = rowMax;
      if (rm > softMax) {
        softSum = softSum * std::exp(softMax - rm);
        softMax = rm;
      }
      double rowSum = 0.0;
      for (int64_t x = 0; x < W; ++x) rowSum += std::exp(static_cast<double>(line[x]) - softMax);
      softSum += rowSum;
    }
  }
  const int64_t xi = bestIndex % W, yi = bestIndex / W;
  Decoded d;
  d.x = cellToImage(xi, g.w, W, g.x1);
  d.y = cellToImage(yi, g.h, H, g.y1);
  d.logit = best;
  d.probability = wantProbability ? static_cast<float>(1.0 / softSum) : 0.0f;
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
  parallelFor(s.n * s.k, threads, [&](int64_t item, int) {
    const int64_t n = item / s.k, k = item % s.k;
    if (ensembleChannel(heatmaps, s, e, n, k, out + item * s.mapSize())) bad.store(1);
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
    const Decoded out = decodeMap(maps + item * s.mapSize(), s.m, d.rois.data() + n * 4, d.probability,
                                  scratch[static_cast<size_t>(thread)], &b);
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
    uint32_t b = ensembleChannel(heatmaps, s, e, n, k, sc.map.data());
    const Decoded out = decodeMap(sc.map.data(), s.m, d.rois.data() + n * 4, d.probability, sc, &b);
    if (b) bad.store(1);
    store(out, item, keypoints, probability);
  });
  *nonFinite = bad.load() != 0;
}

void triad(float* a, const float* b, const float* c, float s, int64_t length, int threads) {
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(threads, length / 4096 + 1));
  const int64_t per = (length + chunks - 1) / chunks;
  parallelFor(chunks, threads, [&](int64_t chunk, int) {
    const int64_t lo = chunk * per, hi = std::min(length, lo + per);
    float* __restrict pa = a;
    const float* __restrict pb = b;
    const float* __restrict pc = c;
    for (int64_t i = lo; i < hi; ++i) pa[i] = pb[i] + s * pc[i];
  });
}

}  // namespace cpu
}  // namespace omni
