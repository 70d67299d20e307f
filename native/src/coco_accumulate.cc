// COCOeval accumulate, ported from packages/coco/src/accumulate.ts step for step (the same
// integer counts and the same double divisions, so every value is the TypeScript's double).
#include "coco_accumulate.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace omni {
namespace {

constexpr uint8_t kTP = 1;
constexpr uint8_t kIgnored = 2;
/** np.spacing(1), pycocotools' epsilon. */
constexpr double kSpacing1 = 2.220446049250313e-16;

/** One category's detections in score order, and which maxDets each one counts for (accumulate.ts' CategoryOrder). */
struct CategoryOrder {
  int64_t n = 0;
  /** Layout positions by descending score, ties in position order (pycocotools' stable sort). */
  std::vector<int32_t> sorted;
  std::vector<double> sortedScore;
  /** The maxDets a detection counts for form a suffix of the (ascending) list: from firstM on. */
  std::vector<int32_t> firstM;
  /** Detections counted per maxDets, and the score-order position of the first one (-1: none). */
  std::vector<int32_t> nd, firstKept;
};

void orderCategory(const CocoAccumulation& acc, int64_t s, int64_t e, CategoryOrder& c) {
  const int32_t M = acc.numMaxDets;
  c.n = e - s;
  c.sorted.resize(c.n);
  std::iota(c.sorted.begin(), c.sorted.end(), static_cast<int32_t>(s));
  std::stable_sort(c.sorted.begin(), c.sorted.end(), [&](int32_t x, int32_t y) { return acc.score[acc.detOf[x]] > acc.score[acc.detOf[y]]; });
  c.sortedScore.resize(c.n);
  c.firstM.resize(c.n);
  c.nd.assign(M, 0);
  c.firstKept.assign(M, -1);
  for (int64_t i = 0; i < c.n; i++) {
    c.sortedScore[i] = acc.score[acc.detOf[c.sorted[i]]];
    const int32_t r = acc.rank[c.sorted[i]];
    int32_t f = 0;
    while (f < M && r >= acc.maxDets[f]) f++;
    c.firstM[i] = f;
    for (int32_t m = f; m < M; m++) {
      if (c.firstKept[m] < 0) c.firstKept[m] = static_cast<int32_t>(i);
      c.nd[m]++;
    }
  }
}

/** Per-category scratch: tp/fp counts per maxDets, and per maxDets each true positive's score-order position and precision. */
struct Curves {
  std::vector<int32_t> tp, fp, tpIndex;
  std::vector<double> tpPrecision;
};

/** Counts true/false positives in score order per maxDets, recording each true positive's position and tp/(fp+tp+eps). */
void scanOutcomes(const uint8_t* outcome, const CategoryOrder& c, int32_t M, Curves& v) {
  std::fill(v.tp.begin(), v.tp.end(), 0);
  std::fill(v.fp.begin(), v.fp.end(), 0);
  const int64_t stride = c.n + 1;
  for (int64_t i = 0; i < c.n; i++) {
    const uint8_t o = outcome[c.sorted[i]];
    if (o == kIgnored) continue;
    for (int32_t m = c.firstM[i]; m < M; m++) {
      if (o == kTP) {
        const int32_t k = ++v.tp[m];
        v.tpIndex[m * stride + k] = static_cast<int32_t>(i);
        v.tpPrecision[m * stride + k] = k / (static_cast<double>(v.fp[m]) + k + kSpacing1);
      } else {
        v.fp[m]++;
      }
    }
  }
}

/** Precision and score at each recall threshold for one maxDets (accumulate.ts' readPrecision). */
void readPrecision(const CocoAccumulation& acc, const CategoryOrder& c, int32_t m, int32_t tpm, double np, Curves& v, int64_t cell0, int64_t step) {
  double* pr = v.tpPrecision.data() + m * (c.n + 1);
  const int32_t* index = v.tpIndex.data() + m * (c.n + 1);
  // monotone from the right: each value the maximum of itself and those after it
  for (int32_t k = tpm - 1; k >= 1; k--) if (pr[k + 1] > pr[k]) pr[k] = pr[k + 1];
  // read at index 0: before the first true positive precision is 0/(fp+eps) = 0
  const double firstPr = tpm > 0 ? pr[1] : 0;
  const bool counted = c.nd[m] > 0;
  int32_t need = 0;  // smallest tp count whose recall tp/np reaches the threshold
  int64_t cell = cell0;
  for (int32_t r = 0; r < acc.numRecall; r++, cell += step) {
    const double rt = acc.recThrs[r];
    while (need <= tpm && need / np < rt) need++;
    if (!counted || need > tpm) {
      acc.precision[cell] = 0;
      acc.scores[cell] = 0;
    } else if (need == 0) {
      acc.precision[cell] = firstPr;
      acc.scores[cell] = c.sortedScore[c.firstKept[m]];
    } else {
      acc.precision[cell] = pr[need];
      acc.scores[cell] = c.sortedScore[index[need]];
    }
  }
}

}  // namespace

void accumulateCoco(const CocoAccumulation& acc) {
  const int32_t T = acc.numThresholds, R = acc.numRecall, K = acc.numCategories, A = acc.numAreas, M = acc.numMaxDets;
  CategoryOrder c;
  Curves v;
  v.tp.resize(M);
  v.fp.resize(M);
  for (int32_t k = 0; k < K; k++) {
    orderCategory(acc, acc.kStart[k], acc.kStart[k + 1], c);
    v.tpIndex.assign(M * (c.n + 1), 0);
    v.tpPrecision.assign(M * (c.n + 1), 0);
    for (int32_t a = 0; a < A; a++) {
      const double np = acc.npig[static_cast<int64_t>(k) * A + a];
      if (np == 0) continue;
      for (int32_t t = 0; t < T; t++) {
        // one pass over this (area, threshold)'s outcomes in score order serves every maxDets
        scanOutcomes(acc.outcome + (static_cast<int64_t>(a) * T + t) * acc.kept, c, M, v);
        for (int32_t m = 0; m < M; m++) {
          acc.recall[((static_cast<int64_t>(t) * K + k) * A + a) * M + m] = c.nd[m] > 0 ? v.tp[m] / np : 0;
          const int64_t cell0 = ((static_cast<int64_t>(t) * R * K + k) * A + a) * M + m;  // r = 0; r steps by K * A * M
          readPrecision(acc, c, m, v.tp[m], np, v, cell0, static_cast<int64_t>(K) * A * M);
        }
      }
    }
  }
}

}  // namespace omni
