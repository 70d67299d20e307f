// What this machine's memory does with pure reads, pure writes and mixed traffic (issue 17's
// "averaging phase >= 80 % of the triad", where the triad is counted with its write-allocate
// read): 2 threads over 256 MiB arrays, every kernel once per round in alternating rounds, 64 MiB
// read untimed before each (as heatmaps.bench does). Prints best and median ms and GB/s from the
// median, counted without and with a read for ownership (RFO) per regular store.
// The averaging phase is 18 map reads per map written, so its ceiling is the pure-read row.
// Not built by CMake; compile and run by hand (AVX-512):
//   g++ -O3 -march=native -pthread native/bench/read-write-probes.cc -o /tmp/read-write-probes
//   /tmp/read-write-probes 15
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {
double now() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

constexpr size_t kFloats = (256u << 20) / 4;  // per array
constexpr size_t kFlushFloats = (64u << 20) / 4;
float *A, *B, *C, *Flush;
volatile float sink;

/** Runs fn over [0, n) split in two halves on two threads; returns wall ms. */
template <class Fn>
double onTwoThreads(const Fn& fn) {
  const double t0 = now();
  std::thread other([&] { fn(kFloats / 2, kFloats); });
  fn(0, kFloats / 2);
  other.join();
  return now() - t0;
}

void touchFlushBuffer() {
  for (size_t i = 0; i < kFlushFloats; i += 16) Flush[i] += 1;
}

float sumOf(const float* a, size_t s, size_t e, size_t prefetchFloats) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  for (size_t i = s; i < e; i += 32) {
    if (prefetchFloats) {
      _mm_prefetch(reinterpret_cast<const char*>(a + i + prefetchFloats), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(a + i + prefetchFloats + 16), _MM_HINT_T1);
    }
    acc0 = _mm512_add_ps(acc0, _mm512_load_ps(a + i));
    acc1 = _mm512_add_ps(acc1, _mm512_load_ps(a + i + 16));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

struct Probe {
  std::string name;
  double unitsWithoutRfo, unitsWithRfo;  // array-sized transfers
  std::function<void(size_t, size_t)> run;
  std::vector<double> ms;
};
}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  A = static_cast<float*>(aligned_alloc(64, kFloats * 4));
  B = static_cast<float*>(aligned_alloc(64, kFloats * 4));
  C = static_cast<float*>(aligned_alloc(64, kFloats * 4));
  Flush = static_cast<float*>(aligned_alloc(64, kFlushFloats * 4));
  std::memset(A, 0, kFloats * 4);
  std::memset(B, 0, kFloats * 4);
  std::memset(C, 0, kFloats * 4);
  std::memset(Flush, 0, kFlushFloats * 4);
  const __m512 one = _mm512_set1_ps(1.f), three = _mm512_set1_ps(3.f);
  std::vector<Probe> probes;
  probes.push_back({"read", 1, 1, [](size_t s, size_t e) { sink = sumOf(A, s, e, 0); }, {}});
  probes.push_back({"read, prefetcht1 +4 KiB", 1, 1, [](size_t s, size_t e) { sink = sumOf(A, s, e, 1024); }, {}});
  probes.push_back({"write, regular stores", 1, 2, [&](size_t s, size_t e) { for (size_t i = s; i < e; i += 16) _mm512_store_ps(A + i, one); }, {}});
  probes.push_back({"write, non-temporal", 1, 1, [&](size_t s, size_t e) { for (size_t i = s; i < e; i += 16) _mm512_stream_ps(A + i, one); _mm_sfence(); }, {}});
  probes.push_back({"copy a = b, regular", 2, 3, [](size_t s, size_t e) { for (size_t i = s; i < e; i += 16) _mm512_store_ps(A + i, _mm512_load_ps(B + i)); }, {}});
  probes.push_back({"triad a = b + 3c, regular", 3, 4, [&](size_t s, size_t e) {
    for (size_t i = s; i < e; i += 16) _mm512_store_ps(A + i, _mm512_fmadd_ps(three, _mm512_load_ps(C + i), _mm512_load_ps(B + i)));
  }, {}});
  probes.push_back({"triad, non-temporal", 3, 3, [&](size_t s, size_t e) {
    for (size_t i = s; i < e; i += 16) _mm512_stream_ps(A + i, _mm512_fmadd_ps(three, _mm512_load_ps(C + i), _mm512_load_ps(B + i)));
    _mm_sfence();
  }, {}});
  for (int r = 0; r < rounds; r++) {
    for (Probe& p : probes) {
      touchFlushBuffer();
      p.ms.push_back(onTwoThreads(p.run));
    }
  }
  const double bytes = 256.0 * (1 << 20);
  std::printf("%-28s %8s %8s %17s %17s\n", "2 threads, 256 MiB arrays", "best ms", "median", "GB/s without RFO", "GB/s with RFO");
  for (Probe& p : probes) {
    std::sort(p.ms.begin(), p.ms.end());
    const double best = p.ms.front(), median = p.ms[p.ms.size() / 2];
    std::printf("%-28s %8.2f %8.2f %17.1f %17.1f\n", p.name.c_str(), best, median, p.unitsWithoutRfo * bytes / median / 1e6, p.unitsWithRfo * bytes / median / 1e6);
  }
  return 0;
}
