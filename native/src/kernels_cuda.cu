// CUDA backend: the same jobs as the CPU backend, the same per-element arithmetic
// (kernel_math.h, compiled with --fmad=false), so results match the CPU bit for bit except
// the softmax probability (a different summation order; compared with a tolerance).
// Layout: ensemble = one thread per output value; decode/fused = one block per
// (RoI, keypoint) work item, the fused kernel combining its M x M map into shared memory.
#include <cuda_runtime.h>

#include <chrono>
#include <climits>
#include <memory>
#include <cmath>
#include <string>
#include <vector>

#include "kernel_math.h"
#include "kernels.h"

namespace omni {
namespace cuda {
namespace {

constexpr int kBlock = 256;
constexpr int kMaxFusedSide = 100;  // 100 * 100 * 4 B + the reduction arrays < 48 KiB of shared memory

std::string errorText(cudaError_t e) { return std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")"; }

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("cuda ") + what + ": " + errorText(e));
}

/** A device allocation freed on scope exit, so an exception never leaks device memory. */
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count_) check(cudaMalloc(reinterpret_cast<void**>(&ptr_), count_ * sizeof(T)), "malloc");
  }
  DeviceBuffer(const T* host, size_t count) : DeviceBuffer(count) { upload(host); }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void upload(const T* host) {
    if (count_) check(cudaMemcpy(ptr_, host, count_ * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  }
  void download(T* host) const {
    if (count_) check(cudaMemcpy(host, ptr_, count_ * sizeof(T), cudaMemcpyDeviceToHost), "copy to host");
  }
  T* get() const { return ptr_; }

 private:
  T* ptr_ = nullptr;
  size_t count_;
};

/** Times device work between two events (kernel time, excluding copies). */
class EventTimer {
 public:
  EventTimer() {
    check(cudaEventCreate(&start_), "event create");
    check(cudaEventCreate(&stop_), "event create");
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  void start() { check(cudaEventRecord(start_), "event record"); }
  double stopMs() {
    check(cudaEventRecord(stop_), "event record");
    check(cudaEventSynchronize(stop_), "event sync");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start_, stop_), "event time");
    return ms;
  }

 private:
  cudaEvent_t start_, stop_;
};

/** The ensemble spec as device pointers. */
struct DeviceEnsemble {
  int mode;  // 0 avg, 1 max
  const uint8_t* flipped;
  const int32_t* perm;
  const float* weights;
  const uint8_t* mask;  // null: all included
  int64_t t, n, k, m;
};

/** Owns the device copies of an EnsembleSpec for one call. */
struct EnsembleUpload {
  DeviceBuffer<uint8_t> flipped;
  DeviceBuffer<int32_t> perm;
  DeviceBuffer<float> weights;
  DeviceBuffer<uint8_t> mask;
  DeviceEnsemble view;
  EnsembleUpload(const EnsembleSpec& e, const Shape& s)
      : flipped(e.flipped.data(), e.flipped.size()),
        perm(e.perm.data(), e.perm.size()),
        weights(e.weights.data(), e.weights.size()),
        mask(e.mask.data(), e.mask.size()) {
    view = DeviceEnsemble{e.mode == Mode::Avg ? 0 : 1, flipped.get(), perm.get(), weights.get(),
                          e.mask.empty() ? nullptr : mask.get(), s.t, s.n, s.k, s.m};
  }
};

/** Combined value at (n, k, y, x): the same operations, in the same order, as the CPU backend. */
__device__ float combineAt(const float* __restrict__ heat, const DeviceEnsemble& e, int64_t n, int64_t k, int64_t y,
                           int64_t x, uint32_t* bad) {
  float acc = 0.0f, weightSum = 0.0f;
  bool first = true;
  for (int64_t t = 0; t < e.t; ++t) {
    if (e.mask && e.mask[t * e.n + n] == 0) continue;
    const bool flip = e.flipped[t] != 0;
    const int64_t channel = flip ? e.perm[k] : k;
    const int64_t xx = flip ? e.m - 1 - x : x;
    const float v = heat[(((t * e.n + n) * e.k + channel) * e.m + y) * e.m + xx];
    *bad |= nonFiniteBit(v);
    const float w = e.weights[t];
    weightSum += w;
    if (e.mode == 0) acc = first ? w * v : acc + w * v;
    else acc = first ? v : (v > acc ? v : acc);
    first = false;
  }
  if (e.mode != 0) return acc;
  const float mean = acc / weightSum;
  *bad |= nonFiniteBit(mean);  // an average that overflowed is rejected too, as on the CPU
  return mean;
}

__global__ void ensembleKernel(const float* __restrict__ heat, DeviceEnsemble e, float* __restrict__ out,
                               unsigned* badFlag) {
  const int64_t total = e.n * e.k * e.m * e.m;
  uint32_t bad = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t x = i % e.m, y = (i / e.m) % e.m, k = (i / (e.m * e.m)) % e.k, n = i / (e.m * e.m * e.k);
    out[i] = combineAt(heat, e, n, k, y, x, &bad);
  }
  if (bad) *badFlag = 1;
}

/** Running (first) maximum and online-softmax state of one thread, merged across the block. */
struct Reduction {
  float best;
  long long bestIndex;
  double softMax, softSum;
};

__device__ Reduction mergeReduction(const Reduction& a, const Reduction& b) {
  Reduction r;
  const bool takeB = b.best > a.best || (b.best == a.best && b.bestIndex < a.bestIndex);
  r.best = takeB ? b.best : a.best;
  r.bestIndex = takeB ? b.bestIndex : a.bestIndex;
  if (a.softSum == 0.0) {
    r.softMax = b.softMax;
    r.softSum = b.softSum;
  } else if (b.softSum == 0.0) {
    r.softMax = a.softMax;
    r.softSum = a.softSum;
  } else {
    r.softMax = a.softMax > b.softMax ? a.softMax : b.softMax;
    r.softSum = a.softSum * exp(a.softMax - r.softMax) + b.softSum * exp(b.softMax - r.softMax);
  }
  return r;
}

/**
 * One block per (RoI, keypoint): FUSED combines the T maps into shared memory first;
 * otherwise reads the [N, K, M, M] map from global memory. Each thread evaluates the bicubic
 * value of a strided subset of the H x W cells (increasing index, so a strict > keeps the
 * first maximum), then the block reduces.
 */
template <bool FUSED>
__global__ void decodeKernel(const float* __restrict__ source, DeviceEnsemble e, const float* __restrict__ rois,
                             float* __restrict__ keypoints, float* __restrict__ probability, unsigned* badFlag) {
  extern __shared__ float combined[];
  __shared__ Reduction reductions[kBlock];
  const int64_t items = e.n * e.k, mm = e.m * e.m;
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
    const int64_t n = item / e.k, k = item % e.k;
    uint32_t bad = 0;
    const float* map;
    if (FUSED) {
      for (int64_t i = threadIdx.x; i < mm; i += blockDim.x) combined[i] = combineAt(source, e, n, k, i / e.m, i % e.m, &bad);
      __syncthreads();
      map = combined;
    } else {
      map = source + item * mm;
      for (int64_t i = threadIdx.x; i < mm; i += blockDim.x) bad |= nonFiniteBit(map[i]);
    }
    if (bad) *badFlag = 1;

    const RoiGeometry g = roiGeometry(rois + n * 4);
    const float scaleX = resizeScale(e.m, g.W), scaleY = resizeScale(e.m, g.H);
    Reduction mine{-INFINITY, LLONG_MAX, -INFINITY, 0.0};
    const int64_t cells = g.H * g.W;
    for (int64_t idx = threadIdx.x; idx < cells; idx += blockDim.x) {
      const int64_t y = idx / g.W, x = idx % g.W;
      const CubicTaps tx = cubicTaps(x, e.m, scaleX), ty = cubicTaps(y, e.m, scaleY);
      float rows[4];
      for (int j = 0; j < 4; ++j) {
        const float* r = map + static_cast<int64_t>(ty.idx[j]) * e.m;
        rows[j] = cubicCombine(r[tx.idx[0]], r[tx.idx[1]], r[tx.idx[2]], r[tx.idx[3]], tx.w);
      }
      const float v = cubicCombine(rows[0], rows[1], rows[2], rows[3], ty.w);
      if (v > mine.best) {
        mine.best = v;
        mine.bestIndex = idx;
      }
      if (probability) {
        const double dv = v;
        if (dv > mine.softMax) {
          mine.softSum = mine.softSum * exp(mine.softMax - dv) + 1.0;
          mine.softMax = dv;
        } else {
          mine.softSum += exp(dv - mine.softMax);
        }
      }
    }
    reductions[threadIdx.x] = mine;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
      if (threadIdx.x < stride) reductions[threadIdx.x] = mergeReduction(reductions[threadIdx.x], reductions[threadIdx.x + stride]);
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      const Reduction r = reductions[0];
      const int64_t xi = r.bestIndex % g.W, yi = r.bestIndex / g.W;
      keypoints[item * 3 + 0] = cellToImage(xi, g.w, g.W, g.x1);
      keypoints[item * 3 + 1] = cellToImage(yi, g.h, g.H, g.y1);
      keypoints[item * 3 + 2] = r.best;
      if (probability) probability[item] = static_cast<float>(1.0 / r.softSum);
    }
    __syncthreads();  // `combined` and `reductions` are reused by the next item
  }
}

__global__ void triadKernel(float* __restrict__ a, const float* __restrict__ b, const float* __restrict__ c, float s,
                            int64_t length) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < length;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    a[i] = b[i] + s * c[i];
}

unsigned gridFor(int64_t work) {
  const int64_t blocks = (work + kBlock - 1) / kBlock;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 16 ? 65535 * 16 : blocks));
}

unsigned gridForItems(int64_t items) { return static_cast<unsigned>(items > 1048576 ? 1048576 : (items < 1 ? 1 : items)); }

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

bool readBadFlag(const DeviceBuffer<unsigned>& flag) {
  unsigned host = 0;
  flag.download(&host);
  return host != 0;
}

void afterLaunch() {
  check(cudaGetLastError(), "kernel launch");
}

/** Decode or fused decode: `source` is [N,K,M,M] maps or [T,N,K,M,M] heatmaps. */
template <bool FUSED>
void runDecode(const float* source, const Shape& s, const EnsembleSpec* e, const DecodeSpec& d, float* keypoints,
               float* probability, bool* nonFinite, Timing* timing) {
  const auto start = std::chrono::steady_clock::now();
  DeviceBuffer<float> src(source, static_cast<size_t>(s.elements()));
  DeviceBuffer<float> rois(d.rois.data(), d.rois.size());
  DeviceBuffer<float> kp(static_cast<size_t>(s.n * s.k * 3));
  DeviceBuffer<float> prob(probability ? static_cast<size_t>(s.n * s.k) : 0);
  DeviceBuffer<unsigned> flag(1);
  check(cudaMemset(flag.get(), 0, sizeof(unsigned)), "memset");
  DeviceEnsemble view{0, nullptr, nullptr, nullptr, nullptr, 1, s.n, s.k, s.m};
  std::unique_ptr<EnsembleUpload> upload;
  if (FUSED) {
    upload.reset(new EnsembleUpload(*e, s));
    view = upload->view;
  }
  const size_t shared = FUSED ? static_cast<size_t>(s.mapSize()) * sizeof(float) : 0;
  EventTimer timer;
  timer.start();
  decodeKernel<FUSED><<<gridForItems(s.n * s.k), kBlock, shared>>>(src.get(), view, rois.get(), kp.get(),
                                                                    probability ? prob.get() : nullptr, flag.get());
  afterLaunch();
  timing->kernelMs = timer.stopMs();
  kp.download(keypoints);
  if (probability) prob.download(probability);
  *nonFinite = readBadFlag(flag);
  timing->totalMs = msSince(start);
}

}  // namespace

Probe probe() {
  Probe p;
  cudaRuntimeGetVersion(&p.runtimeVersion);
  const cudaError_t driver = cudaDriverGetVersion(&p.driverVersion);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    p.reason = errorText(e);
    if (driver == cudaSuccess && p.driverVersion == 0) p.reason += "; no CUDA driver is installed";
    cudaGetLastError();  // clear the sticky-free error so later probes start clean
    return p;
  }
  if (count == 0) {
    p.reason = "the CUDA driver reports no device";
    return p;
  }
  cudaDeviceProp prop;
  const cudaError_t pe = cudaGetDeviceProperties(&prop, 0);
  if (pe != cudaSuccess) {
    p.reason = "device 0 is not accessible: " + errorText(pe);
    return p;
  }
  p.usable = true;
  p.device = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
  return p;
}

int64_t maxFusedMapSide() { return kMaxFusedSide; }

void ensemble(const float* heatmaps, const Shape& s, const EnsembleSpec& e, float* out, bool* nonFinite, Timing* timing) {
  const auto start = std::chrono::steady_clock::now();
  DeviceBuffer<float> heat(heatmaps, static_cast<size_t>(s.elements()));
  const int64_t outCount = s.n * s.k * s.mapSize();
  DeviceBuffer<float> dst(static_cast<size_t>(outCount));
  DeviceBuffer<unsigned> flag(1);
  check(cudaMemset(flag.get(), 0, sizeof(unsigned)), "memset");
  EnsembleUpload upload(e, s);
  EventTimer timer;
  timer.start();
  ensembleKernel<<<gridFor(outCount), kBlock>>>(heat.get(), upload.view, dst.get(), flag.get());
  afterLaunch();
  timing->kernelMs = timer.stopMs();
  dst.download(out);
  *nonFinite = readBadFlag(flag);
  timing->totalMs = msSince(start);
}

void decode(const float* maps, const Shape& s, const DecodeSpec& d, float* keypoints, float* probability,
            bool* nonFinite, Timing* timing) {
  runDecode<false>(maps, s, nullptr, d, keypoints, probability, nonFinite, timing);
}

void ensembleAndDecode(const float* heatmaps, const Shape& s, const EnsembleSpec& e, const DecodeSpec& d,
                       float* keypoints, float* probability, bool* nonFinite, Timing* timing) {
  if (s.m > kMaxFusedSide) throw InputError("shape.m: expected M <= " + std::to_string(kMaxFusedSide) + " on the cuda backend");
  runDecode<true>(heatmaps, s, &e, d, keypoints, probability, nonFinite, timing);
}

void triad(float* a, const float* b, const float* c, float s, int64_t length, Timing* timing) {
  const auto start = std::chrono::steady_clock::now();
  DeviceBuffer<float> da(static_cast<size_t>(length));
  DeviceBuffer<float> db(b, static_cast<size_t>(length));
  DeviceBuffer<float> dc(c, static_cast<size_t>(length));
  EventTimer timer;
  timer.start();
  triadKernel<<<gridFor(length), kBlock>>>(da.get(), db.get(), dc.get(), s, length);
  afterLaunch();
  timing->kernelMs = timer.stopMs();
  da.download(a);
  timing->totalMs = msSince(start);
}

}  // namespace cuda
}  // namespace omni
