// Probes behind packages/ensemble/README.md "Where the averaging lost its time": the cpu
// ensemble phase in channel order (ensembleRoi over all K, the kernel before the memory-order
// change) and cpu::ensemble (memory order when this was written; since issue 17's third look,
// per channel window with prefetching: averaging-variants.cc has the memory-order kernel), next to loops that isolate one cost each, on the
// bench's shape (T18 N100 K17 M56, flips alternating, COCO's perm), in alternating rounds.
// Prints best and median wall, median CPU time and the per-round ratio to the first row.
// Not built by CMake; compile and run by hand from the repository root (the addon's flags;
// arguments: threads, rounds):
//   g++ -std=c++17 -O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -pthread native/bench/averaging-probes.cc -o /tmp/averaging-probes
//   /tmp/averaging-probes 2 16
#include "../src/kernels_cpu.cc"

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
double cpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

/** Read-only, in the memory-order kernel's order (each transform's maps of 4 RoIs as one stream): its floor. */
OMNI_HOT float sumInMemoryOrder(const float* heat, const Shape& s, int64_t n0, int64_t rois) {
  const int64_t length = rois * s.k * s.mapSize();
  float lanes[32] = {};
  for (int64_t t = 0; t < s.t; ++t) {
    const float* a = heat + (t * s.n + n0) * s.k * s.mapSize();
    for (int64_t x = 0; x + 32 <= length; x += 32)
      for (int j = 0; j < 32; ++j) lanes[j] += a[x + j];
  }
  float sum = 0;
  for (float v : lanes) sum += v;
  return sum;
}

/**
 * The same stream added into one M*M block that stays in L1 (`mapsPerStore` consecutive maps
 * per store): the output traffic and the flips removed, the stores per input byte varied.
 */
OMNI_HOT void addIntoL1Block(const float* heat, const Shape& s, int64_t n0, int64_t rois, int mapsPerStore, float* __restrict block) {
  const int64_t mm = s.mapSize(), maps = rois * s.k;
  for (int64_t t = 0; t < s.t; ++t) {
    const float* a = heat + (t * s.n + n0) * s.k * mm;
    if (mapsPerStore == 1) {
      for (int64_t map = 0; map < maps; ++map)
        for (int64_t x = 0; x < mm; ++x) block[x] = block[x] + a[map * mm + x];
    } else {
      for (int64_t map = 0; map + 1 < maps; map += 2)
        for (int64_t x = 0; x < mm; ++x) block[x] = (block[x] + a[map * mm + x]) + a[(map + 1) * mm + x];
    }
  }
}
}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2, rounds = argc > 2 ? std::atoi(argv[2]) : 16;
  Shape s;
  s.t = 18, s.n = 100, s.k = 17, s.m = 56;
  const int64_t block = s.k * s.mapSize(), rois = 4;
  std::vector<float> heat(static_cast<size_t>(s.elements())), out(static_cast<size_t>(s.n * block)), before(out.size());
  std::mt19937 random(1);
  for (float& v : heat) v = static_cast<float>(random() % 8000) / 1000.0f - 4.0f;
  EnsembleSpec e;
  for (int64_t t = 0; t < s.t; ++t) e.flipped.push_back(t % 2), e.weights.push_back(1.0f);
  for (int32_t k = 0; k < s.k; ++k) e.perm.push_back(k);
  for (int64_t k = 1; k + 1 < s.k; k += 2) std::swap(e.perm[static_cast<size_t>(k)], e.perm[static_cast<size_t>(k + 1)]);  // COCO's pairs

  bool bad = false;
  std::atomic<float> sink{0};
  struct Row {
    std::string name;
    std::function<void()> run;
    std::vector<double> wall, cpu;
  };
  std::vector<Row> rows = {
      {"channel order (before)", [&] { cpu::parallelFor(s.n, threads, [&](int64_t n, int) { cpu::ensembleRoi(heat.data(), s, e, n, 0, s.k, before.data() + n * block); }); }, {}, {}},
      {"cpu::ensemble", [&] { cpu::ensemble(heat.data(), s, e, out.data(), threads, &bad); }, {}, {}},
      {"probe: add into an L1 block", [&] { cpu::parallelFor(s.n / rois, threads, [&](int64_t i, int) { thread_local std::vector<float> b(static_cast<size_t>(s.mapSize())); addIntoL1Block(heat.data(), s, i * rois, rois, 1, b.data()); }); }, {}, {}},
      {"probe: same, 2 maps per store", [&] { cpu::parallelFor(s.n / rois, threads, [&](int64_t i, int) { thread_local std::vector<float> b(static_cast<size_t>(s.mapSize())); addIntoL1Block(heat.data(), s, i * rois, rois, 2, b.data()); }); }, {}, {}},
      {"probe: read-only, memory order", [&] { cpu::parallelFor(s.n / rois, threads, [&](int64_t i, int) { sink.store(sumInMemoryOrder(heat.data(), s, i * rois, rois)); }); }, {}, {}},
      {"readSum (the floor)", [&] { sink.store(static_cast<float>(cpu::readSum(heat.data(), s.elements(), threads))); }, {}, {}},
  };
  for (int r = 0; r < rounds; ++r) {
    for (Row& row : rows) {
      const double c0 = cpuMs(), w0 = wallMs();
      row.run();
      row.wall.push_back(wallMs() - w0);
      row.cpu.push_back(cpuMs() - c0);
    }
  }
  std::printf("outputs of the two kernels identical: %s\n", std::memcmp(out.data(), before.data(), out.size() * sizeof(float)) == 0 ? "yes" : "NO");
  std::printf("%d thread(s), %d alternating rounds: best wall / median wall / median CPU (ms); median per-round ratio first row / this row (wall, CPU)\n", threads, rounds);
  for (Row& row : rows) {
    std::vector<double> wallRatio, cpuRatio;
    for (int r = 0; r < rounds; ++r) wallRatio.push_back(rows[0].wall[r] / row.wall[r]), cpuRatio.push_back(rows[0].cpu[r] / row.cpu[r]);
    std::printf("  %-32s %7.2f / %7.2f / %7.2f   x%.2f  x%.2f\n", row.name.c_str(), *std::min_element(row.wall.begin(), row.wall.end()), median(row.wall), median(row.cpu), median(wallRatio), median(cpuRatio));
  }
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    char line[128] = {};
    if (std::fgets(line, sizeof line, f)) std::printf("load average %s", line);
    std::fclose(f);
  }
  return bad ? 1 : 0;
}
