// Plain C++ description of one kernel call (no N-API types), shared by the CPU and CUDA
// backends so both read exactly the same job and neither can drift in what it accepts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace omni {

enum class Mode { Avg, Max };

/** Heatmaps laid out [T, N, K, M, M] (T = 1 for a plain [N, K, M, M] batch). */
struct Shape {
  int64_t t = 1, n = 0, k = 0, m = 0;
  int64_t mapSize() const { return m * m; }
  int64_t elements() const { return t * n * k * m * m; }
};

/** How the T transforms of one RoI combine. Arrays are copies owned by the job. */
struct EnsembleSpec {
  Mode mode = Mode::Avg;
  std::vector<uint8_t> flipped;  // [T]: 1 = the transform's heatmaps are horizontally flipped
  std::vector<int32_t> perm;     // [K]: channel c of the un-flipped map is channel perm[c] of the flipped one
  std::vector<float> weights;    // [T]: per-transform weight (all 1 when the caller gave none)
  std::vector<uint8_t> mask;     // [T * N]: 0 = leave transform t out for RoI n; empty = all in
  bool included(int64_t t, int64_t n, int64_t nCount) const {
    return mask.empty() || mask[static_cast<size_t>(t * nCount + n)] != 0;
  }
};

/** Decoding options; rois are [N, 4] float32 (x1, y1, x2, y2), already validated. */
struct DecodeSpec {
  std::vector<float> rois;
  bool probability = false;
};

/** Per-call timings the benchmark reads: the compute alone and the whole job. */
struct Timing {
  double kernelMs = 0;  // compute (CPU: the parallel loop; CUDA: device kernels, by events)
  double totalMs = 0;   // CUDA: including allocations and host<->device copies
};

/**
 * A failure that is the caller's fault (a RangeError in JS), raised where only the kernel can
 * see it cheaply: e.g. a non-finite logit found while streaming the heatmaps.
 */
struct InputError : std::runtime_error {
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

/** Largest decoded side (ceil of a RoI side) we accept; bounds scratch memory per work item. */
constexpr int64_t kMaxRoiSide = 65536;

namespace cpu {
int defaultThreads();
/** Out: [N, K, M, M]. Sets *nonFinite when a read heatmap value is NaN/Inf. */
void ensemble(const float* heatmaps, const Shape& s, const EnsembleSpec& e, float* out, int threads, bool* nonFinite);
/** maps [N, K, M, M] -> keypoints [N, K, 3] (+ probability [N, K] when non-null). */
void decode(const float* maps, const Shape& s, const DecodeSpec& d, float* keypoints, float* probability, int threads,
            bool* nonFinite);
/** heatmaps [T, N, K, M, M] -> keypoints, one RoI x keypoint map in scratch at a time. */
void ensembleAndDecode(const float* heatmaps, const Shape& s, const EnsembleSpec& e, const DecodeSpec& d,
                       float* keypoints, float* probability, int threads, bool* nonFinite);
/** a[i] = b[i] + s * c[i], the STREAM triad, split over threads. */
void triad(float* a, const float* b, const float* c, float s, int64_t length, int threads);
/**
 * Sum of a[0, length) (in lanes, per thread, in double across threads), split over threads:
 * a read-only stream, the floor of any kernel that reads its input once.
 */
double readSum(const float* a, int64_t length, int threads);
}  // namespace cpu

#ifdef OMNI_WITH_CUDA
namespace cuda {
/** Whether a device is usable; when not, `reason` says why (driver missing, no device, ...). */
struct Probe {
  bool usable = false;
  std::string reason;
  std::string device;
  int runtimeVersion = 0;
  int driverVersion = 0;
};
Probe probe();
void ensemble(const float* heatmaps, const Shape& s, const EnsembleSpec& e, float* out, bool* nonFinite, Timing* t);
void decode(const float* maps, const Shape& s, const DecodeSpec& d, float* keypoints, float* probability,
            bool* nonFinite, Timing* t);
void ensembleAndDecode(const float* heatmaps, const Shape& s, const EnsembleSpec& e, const DecodeSpec& d,
                       float* keypoints, float* probability, bool* nonFinite, Timing* t);
void triad(float* a, const float* b, const float* c, float s, int64_t length, Timing* t);
/** Largest M whose map fits the fused kernel's shared-memory scratch. */
int64_t maxFusedMapSide();
}  // namespace cuda
#endif

}  // namespace omni
