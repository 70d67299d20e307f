// One core's fp32 FMA throughput (AVX-512, 12 independent accumulators): the ceiling the
// training step's convolution kernels are compared with (issue 17; measured 57.6-58.1 GMAC/s
// on the dev machine, 2026-12-04). Not built by CMake:
//   g++ -O3 -march=native native/bench/fma-peak.cc -o /tmp/fma-peak && /tmp/fma-peak
#include <immintrin.h>

#include <chrono>
#include <cstdio>

int main() {
  constexpr int kChains = 12;  // enough independent chains to cover the FMA latency on 2 pipes
  __m512 acc[kChains];
  for (int j = 0; j < kChains; j++) acc[j] = _mm512_set1_ps(1.0f + j * 1e-7f);
  const __m512 scale = _mm512_set1_ps(0.9999999f), add = _mm512_set1_ps(1e-8f);
  const long iterations = 200000000;
  for (int round = 0; round < 3; round++) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iterations; i++) {
#pragma GCC unroll 12
      for (int j = 0; j < kChains; j++) acc[j] = _mm512_fmadd_ps(acc[j], scale, add);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    float sum = 0;  // keeps the chains live
    for (int j = 0; j < kChains; j++) sum += _mm512_reduce_add_ps(acc[j]);
    std::printf("%.1f GMAC/s (fp32, one core)  [checksum %g]\n", iterations * kChains * 16.0 / s / 1e9, sum);
  }
  return 0;
}
