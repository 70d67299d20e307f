// The per-element arithmetic of the kernels, written once for the CPU and CUDA backends.
// Every expression mirrors PyTorch's float32 bicubic upsampling and torchvision's
// heatmaps_to_keypoints operation by operation (no FMA contraction: builds pass
// -ffp-contract=off / --fmad=false), so all backends agree bit for bit with each other and
// with the TypeScript reference, which rounds to float32 after every operation.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define OMNI_HD __host__ __device__ __forceinline__
#else
#define OMNI_HD inline
#endif

namespace omni {

/** One RoI as torchvision decodes it: w = max(x2 - x1, 1), W = ceil(w) (float32 throughout). */
struct RoiGeometry {
  float x1, y1, w, h;
  int64_t W, H;
};

OMNI_HD RoiGeometry roiGeometry(const float* roi) {
  RoiGeometry g;
  g.x1 = roi[0];
  g.y1 = roi[1];
  float w = roi[2] - roi[0];
  float h = roi[3] - roi[1];
  g.w = w < 1.0f ? 1.0f : w;
  g.h = h < 1.0f ? 1.0f : h;
  g.W = static_cast<int64_t>(ceilf(g.w));
  g.H = static_cast<int64_t>(ceilf(g.h));
  return g;
}

/** Bicubic taps of one output index along one axis: 4 clamped source indices + weights. */
struct CubicTaps {
  int32_t idx[4];
  float w[4];
};

/** PyTorch's cubic_convolution1 (|x| <= 1) with A = -0.75. */
OMNI_HD float cubicNear(float x) {
  const float A = -0.75f;
  return (((A + 2.0f) * x - (A + 3.0f)) * x) * x + 1.0f;
}

/** PyTorch's cubic_convolution2 (1 < |x| < 2) with A = -0.75. */
OMNI_HD float cubicFar(float x) {
  const float A = -0.75f;
  return ((A * x - 5.0f * A) * x + 8.0f * A) * x - 4.0f * A;
}

/** input/output as float32, as area_pixel_compute_scale computes it without align_corners. */
OMNI_HD float resizeScale(int64_t inSize, int64_t outSize) {
  return static_cast<float>(inSize) / static_cast<float>(outSize);
}

/**
 * Taps for output index `i` of an axis of `inSize` samples resized with `scale`: half-pixel
 * centres (src = scale * (i + 0.5) - 0.5, evaluated in double and stored as float exactly as
 * PyTorch does), border indices clamped into [0, inSize - 1].
 */
OMNI_HD CubicTaps cubicTaps(int64_t i, int64_t inSize, float scale) {
  const float real = static_cast<float>(static_cast<double>(scale) * (static_cast<double>(i) + 0.5) - 0.5);
  int64_t base = static_cast<int64_t>(floorf(real));
  if (base > inSize - 1) base = inSize - 1;
  float t = real - static_cast<float>(base);
  t = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
  CubicTaps taps;
  taps.w[0] = cubicFar(t + 1.0f);
  taps.w[1] = cubicNear(t);
  const float u = 1.0f - t;
  taps.w[2] = cubicNear(u);
  taps.w[3] = cubicFar(u + 1.0f);
  for (int j = 0; j < 4; ++j) {
    int64_t s = base - 1 + j;
    s = s < 0 ? 0 : (s > inSize - 1 ? inSize - 1 : s);
    taps.idx[j] = static_cast<int32_t>(s);
  }
  return taps;
}

/** Sum of four weighted samples in PyTorch's order: ((a0 w0 + a1 w1) + a2 w2) + a3 w3. */
OMNI_HD float cubicCombine(float a0, float a1, float a2, float a3, const float* w) {
  return ((a0 * w[0] + a1 * w[1]) + a2 * w[2]) + a3 * w[3];
}

/** Keypoint coordinate of decoded cell `cell` along an axis: (cell + 0.5) * (w / W) + x1. */
OMNI_HD float cellToImage(int64_t cell, float size, int64_t cells, float origin) {
  const float correction = size / static_cast<float>(cells);
  return (static_cast<float>(cell) + 0.5f) * correction + origin;
}

/** True when a float32 is NaN or +-Inf (exponent all ones); branch-free so loops vectorise. */
OMNI_HD uint32_t nonFiniteBit(float v) {
  uint32_t bits;
#ifdef __CUDA_ARCH__
  bits = __float_as_uint(v);
#else
  std::memcpy(&bits, &v, sizeof bits);
#endif
  return (bits & 0x7f800000u) == 0x7f800000u ? 1u : 0u;
}

}  // namespace omni
