// COCOeval cell matching, ported from packages/coco/src/match-cells.ts (and geometry.ts' oks /
// boxIou, numeric.ts' npSum) operation for operation: the addon is built with
// -ffp-contract=off, so every double is the one the TypeScript computes (exp aside: libm's and
// V8's may differ in the last bit, which moves no threshold comparison in practice; the
// integration test compares every outcome byte).
#include "coco_match.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace omni {
namespace {

constexpr uint8_t kFP = 0;
constexpr uint8_t kTP = 1;
constexpr uint8_t kIgnored = 2;
/** np.spacing(1), pycocotools' epsilon. */
constexpr double kSpacing1 = 2.220446049250313e-16;

/** numpy's pairwise float64 sum of n <= 128 values (numeric.ts' pairwiseSum; OKS sums K terms). */
double pairwiseSumSmall(const double* a, int n) {
  double res = -0.0;
  int i = 0;
  if (n >= 8) {
    double r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7];
    const int end = n - (n % 8);
    for (i = 8; i < end; i += 8) {
      r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3];
      r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7];
    }
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
  }
  for (; i < n; i++) res += a[i];
  return res;
}

/** numpy's pairwise float64 sum (numeric.ts' npSum; the binding limits K so one 8192 block suffices). */
double pairwiseSum(const double* a, int n) {
  if (n > 128) {
    int n2 = n / 2;
    n2 -= n2 % 8;
    return pairwiseSum(a, n2) + pairwiseSum(a + n2, n - n2);
  }
  return pairwiseSumSmall(a, n);
}

double npSum(const double* a, int n) { return 0.0 + pairwiseSum(a, n); }

/** geometry.ts' boxIou: pycocotools' bbIou of one pair ([x, y, w, h]). */
double boxIou(const double* d, const double* g, bool crowd) {
  const double dx = d[0], dy = d[1], dw = d[2], dh = d[3];
  const double gx = g[0], gy = g[1], gw = g[2], gh = g[3];
  const double w = std::min(dw + dx, gw + gx) - std::max(dx, gx);
  if (w <= 0) return 0;
  const double h = std::min(dh + dy, gh + gy) - std::max(dy, gy);
  if (h <= 0) return 0;
  const double i = w * h;
  const double da = dw * dh;
  const double u = crowd ? da : da + gw * gh - i;
  return i / u;
}

/** geometry.ts' oks for one pair (with its floor test): pycocotools' computeOks. */
double oks(const double* d, const double* g, int32_t labeled, double area, const double* box, const double* vars, int k, double* scratch,
           double floor) {
  const double denom = area + kSpacing1;
  int n = 0;
  if (labeled > 0) {
    int near = 0;
    for (int j = 0; j < k; j++) {
      if (!(g[3 * j + 2] > 0)) continue;
      const double dx = d[3 * j] - g[3 * j];
      const double dy = d[3 * j + 1] - g[3 * j + 1];
      const double e = (dx * dx + dy * dy) / vars[j] / denom / 2;
      if (e < 6) near++;
      scratch[n++] = e;
    }
    static const double kExpMinus6 = std::exp(-6.0);
    if (floor > 0 && (near + (n - near) * kExpMinus6) / n < floor - 1e-9) return 0;
    for (int j = 0; j < n; j++) scratch[j] = std::exp(-scratch[j]);
  } else {
    const double bx = box[0], by = box[1], bw = box[2], bh = box[3];
    const double x0 = bx - bw, x1 = bx + bw * 2, y0 = by - bh, y1 = by + bh * 2;
    for (int j = 0; j < k; j++) {
      const double xd = d[3 * j], yd = d[3 * j + 1];
      const double dx = std::max(0.0, x0 - xd) + std::max(0.0, xd - x1);
      const double dy = std::max(0.0, y0 - yd) + std::max(0.0, yd - y1);
      const double e = (dx * dx + dy * dy) / vars[j] / denom / 2;
      scratch[n++] = std::exp(-e);
    }
  }
  return npSum(scratch, n) / n;
}

/** Per-call state: what is derived from the keypoints once (match-cells.ts' keypointBounds), and scratch grown as cells need. */
struct Scratch {
  /** keypoints only: labeled keypoints per ground truth, extents of its labeled / each detection's keypoints ([4 n] x0, y0, x1, y1) */
  std::vector<int32_t> gtLabeled;
  std::vector<double> gtKpBox, dtKpBox;
  std::vector<double> oks, ious, sortedIous, bestIou;
  std::vector<uint8_t> outside, gIg, gMatched, sortedCrowd;
  std::vector<int32_t> gSorted;

  void fit(int64_t D, int64_t G) {
    if (static_cast<size_t>(D * G) > ious.size()) {
      ious.resize(D * G);
      sortedIous.resize(D * G);
    }
    if (static_cast<size_t>(D) > bestIou.size()) {
      bestIou.resize(D);
      outside.resize(D);
    }
    if (static_cast<size_t>(G) > gSorted.size()) {
      gSorted.resize(G);
      gIg.resize(G);
      gMatched.resize(G);
      sortedCrowd.resize(G);
    }
  }
};

/** geometry.ts' keypointExtent: [x0, y0, x1, y1] of the (labeled) keypoints k[0 .. n). */
void keypointExtent(const double* k, int64_t n, bool labeledOnly, double* out) {
  double x0 = std::numeric_limits<double>::infinity(), y0 = x0, x1 = -x0, y1 = -x0;
  for (int64_t i = 0; i < n; i += 3) {
    if (labeledOnly && !(k[i + 2] > 0)) continue;
    const double x = k[i], y = k[i + 1];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  out[0] = x0;
  out[1] = y0;
  out[2] = x1;
  out[3] = y1;
}

/** Each ground truth's labeled keypoint count and labeled extent, each detection's keypoint extent (the OKS bounds). */
void keypointBounds(const CocoMatchInput& in, Scratch& s) {
  const int64_t k3 = 3 * static_cast<int64_t>(in.numKeypoints);
  s.gtLabeled.resize(in.numGt);
  s.gtKpBox.resize(4 * in.numGt);
  s.dtKpBox.resize(4 * in.numDt);
  for (int64_t g = 0; g < in.numGt; g++) {
    const double* k = in.gtKp + in.gtKpOff[g];
    int32_t labeled = 0;
    for (int64_t v = 2; v < k3; v += 3) if (k[v] > 0) labeled++;
    s.gtLabeled[g] = labeled;
    keypointExtent(k, k3, true, s.gtKpBox.data() + 4 * g);
  }
  for (int64_t d = 0; d < in.numDt; d++) keypointExtent(in.dtKp + in.dtKpOff[d], k3, false, s.dtKpBox.data() + 4 * d);
}

/** match-cells.ts' cellOks: the O(1) far-apart test, then the OKS. */
double cellOks(const CocoMatchInput& in, Scratch& s, int32_t d, int32_t g) {
  const double floor = in.thr[0];
  if (floor > 0.01 && s.gtLabeled[g] > 0) {
    const double* gb = s.gtKpBox.data() + 4 * static_cast<int64_t>(g);
    const double* db = s.dtKpBox.data() + 4 * static_cast<int64_t>(d);
    const double gx = std::max(0.0, std::max(gb[0] - db[2], db[0] - gb[2]));
    const double gy = std::max(0.0, std::max(gb[1] - db[3], db[1] - gb[3]));
    if (gx * gx + gy * gy > in.farPerArea * (in.gtArea[g] + kSpacing1)) return 0;
  }
  return oks(in.dtKp + in.dtKpOff[d], in.gtKp + in.gtKpOff[g], s.gtLabeled[g], in.gtArea[g], in.gtBox + 4 * static_cast<int64_t>(g), in.vars,
             in.numKeypoints, s.oks.data(), floor);
}

bool outsideRange(double area, double lo, double hi) { return area < lo || area > hi; }

/** The similarity matrix of one cell (ground truths in cell order) and each row's maximum; records the layout. */
void similarities(const CocoMatchInput& in, CocoMatchOutput& out, Scratch& s, int32_t g0, int64_t G, int32_t d0, int64_t D, int64_t pos) {
  for (int64_t di = 0; di < D; di++) {
    const int32_t d = in.dOrder[d0 + di];
    double best = -std::numeric_limits<double>::infinity();
    for (int64_t gi = 0; gi < G; gi++) {
      const int32_t g = in.gOrder[g0 + gi];
      const double v = in.keypoints ? cellOks(in, s, d, g)
                                    : boxIou(in.dtBox + 4 * static_cast<int64_t>(d), in.gtBox + 4 * static_cast<int64_t>(g), in.gtCrowd[g] == 1);
      s.ious[di * G + gi] = v;
      if (v > best) best = v;
    }
    s.bestIou[di] = best;
    out.detOf[pos + di] = d;
    out.rank[pos + di] = static_cast<int32_t>(di);
  }
}

/** Greedy matching of one cell in one area range at every threshold (match-cells.ts' inner loops). */
void matchArea(const CocoMatchInput& in, CocoMatchOutput& out, Scratch& s, int32_t k, int32_t a, int32_t g0, int64_t G, int32_t d0, int64_t D,
               int64_t pos) {
  const double lo = in.areaLo[a], hi = in.areaHi[a];
  int64_t nKept = 0;
  for (int64_t gi = 0; gi < G; gi++) {
    const int32_t g = in.gOrder[g0 + gi];
    if (!(in.gtIgnore[g] == 1 || outsideRange(in.gtArea[g], lo, hi))) s.gSorted[nKept++] = static_cast<int32_t>(gi);
  }
  out.npig[static_cast<int64_t>(k) * in.numAreas + a] += static_cast<double>(nKept);
  int64_t w = nKept;
  for (int64_t gi = 0; gi < G; gi++) {
    const int32_t g = in.gOrder[g0 + gi];
    if (in.gtIgnore[g] == 1 || outsideRange(in.gtArea[g], lo, hi)) s.gSorted[w++] = static_cast<int32_t>(gi);
  }
  for (int64_t q = 0; q < G; q++) {
    s.gIg[q] = q < nKept ? 0 : 1;
    s.sortedCrowd[q] = in.gtCrowd[in.gOrder[g0 + s.gSorted[q]]];
  }
  for (int64_t di = 0; di < D; di++) {
    const int32_t d = in.dOrder[d0 + di];
    s.outside[di] = outsideRange(in.dtArea[d], lo, hi) ? 1 : 0;
    if (s.bestIou[di] < in.thr[0]) continue;  // never scanned below
    for (int64_t q = 0; q < G; q++) s.sortedIous[di * G + q] = s.ious[di * G + s.gSorted[q]];
  }
  const int32_t T = in.numThresholds;
  for (int32_t t = 0; t < T; t++) {
    uint8_t* outcome = out.outcome + (static_cast<int64_t>(a) * T + t) * out.kept + pos;
    const double th = in.thr[t];
    std::fill(s.gMatched.begin(), s.gMatched.begin() + G, 0);
    for (int64_t di = 0; di < D; di++) {
      // no ground truth reaches the threshold: pycocotools' scan ends with m = -1
      if (s.bestIou[di] < th) {
        outcome[di] = s.outside[di] == 1 ? kIgnored : kFP;
        continue;
      }
      double best = th;
      int64_t match = -1;
      const double* row = s.sortedIous.data() + di * G;
      for (int64_t q = 0; q < G; q++) {
        if (s.gMatched[q] == 1 && s.sortedCrowd[q] == 0) continue;
        if (match > -1 && s.gIg[match] == 0 && s.gIg[q] == 1) break;
        const double v = row[q];
        if (v < best) continue;
        best = v;
        match = q;
      }
      if (match == -1) {
        outcome[di] = s.outside[di] == 1 ? kIgnored : kFP;
        continue;
      }
      s.gMatched[match] = 1;
      // pycocotools records the matched gt's id; an id of 0 reads as "no match".
      const bool matchedId = in.gtId[in.gOrder[g0 + s.gSorted[match]]] != 0;
      if (s.gIg[match] == 1 || (!matchedId && s.outside[di] == 1)) outcome[di] = kIgnored;
      else outcome[di] = matchedId ? kTP : kFP;
    }
  }
}

}  // namespace

void matchCocoCells(const CocoMatchInput& in, CocoMatchOutput& out) {
  Scratch s;
  s.oks.resize(std::max<int32_t>(in.numKeypoints, 1));
  if (in.keypoints) keypointBounds(in, s);
  int64_t pos = 0;
  for (int64_t c = 0; c < in.numCells; c++) {
    const int32_t* cell = in.cells + 5 * c;
    const int32_t k = cell[0], g0 = cell[1], g1 = cell[2], d0 = cell[3], d1 = cell[4];
    // descending score, stable: pycocotools' mergesort of -score (and match-cells.ts' sorts)
    std::stable_sort(in.dOrder + d0, in.dOrder + d1, [&](int32_t x, int32_t y) { return in.dtScore[x] > in.dtScore[y]; });
    const int64_t G = g1 - g0;
    const int64_t D = std::min<int64_t>(d1 - d0, in.maxDetLast);
    s.fit(D, G);
    similarities(in, out, s, g0, G, d0, D, pos);
    for (int32_t a = 0; a < in.numAreas; a++) matchArea(in, out, s, k, a, g0, G, d0, D, pos);
    pos += D;
  }
}

}  // namespace omni
