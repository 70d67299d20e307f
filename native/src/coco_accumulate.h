// The accumulate step of @omnidistill/coco's fast COCOeval (pycocotools' accumulate) over the
// outcomes of the matching step (coco_match.h): a port of packages/coco/src/accumulate.ts, its
// reference, writing the same doubles. The fields mirror that file's Accumulation; the binding
// (addon.cc) checks every length and index first.
#pragma once

#include <cstdint>

namespace omni {

struct CocoAccumulation {
  int32_t numThresholds;  // T
  int32_t numRecall;      // R
  int32_t numCategories;  // K
  int32_t numAreas;       // A
  int32_t numMaxDets;     // M
  const double* maxDets;  // [M], ascending
  const double* recThrs;  // [R]
  const int32_t* kStart;  // [K + 1]
  const int32_t* detOf;   // [kept]
  const int32_t* rank;    // [kept]
  const uint8_t* outcome; // [A][T][kept]
  int64_t kept;
  const double* npig;     // [K × A]
  const double* score;    // per detection column
  double* precision;      // [T, R, K, A, M], written
  double* recall;         // [T, K, A, M], written
  double* scores;         // [T, R, K, A, M], written
};

/** Fills precision, recall and scores of every category and area range with ground truths. */
void accumulateCoco(const CocoAccumulation& acc);

}  // namespace omni
