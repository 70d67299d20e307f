// The matching step of @omnidistill/coco's fast COCOeval (pycocotools' computeIoU/computeOks +
// evaluateImg) over every image × category cell: a port of packages/coco/src/match-cells.ts,
// its reference, in the same operation order so that both write the same bytes. The fields
// mirror that file's CellMatch; the binding (addon.cc) checks every length and index first.
#pragma once

#include <cstdint>

namespace omni {

/** Ground truths, detections, cells and parameters of one evaluation (views of typed arrays). */
struct CocoMatchInput {
  bool keypoints;
  /** Keypoints per instance (OKS sigmas); vars has this many entries. */
  int32_t numKeypoints;
  const double* gtId;
  const double* gtArea;
  const uint8_t* gtCrowd;
  const uint8_t* gtIgnore;
  const double* gtBox;       // [4 n]
  const double* gtKp;        // keypoints only
  const int32_t* gtKpOff;    // ground truth g's 3K keypoints start at gtKp[gtKpOff[g]]
  const double* dtScore;
  const double* dtArea;
  const double* dtBox;       // [4 n]
  const double* dtKp;        // keypoints only
  const int32_t* dtKpOff;
  int64_t numGt, numDt;
  const int32_t* gOrder;
  int32_t* dOrder;           // each cell's range is sorted by descending score in place
  const int32_t* cells;      // [5 × numCells]: k, g0, g1, d0, d1
  int64_t numCells;
  const double* vars;
  double farPerArea;
  const double* thr;
  int32_t numThresholds;
  const double* areaLo;
  const double* areaHi;
  int32_t numAreas;
  int32_t maxDetLast;
};

/** The arrays the matching fills (`kept` layout positions; npig is added to). */
struct CocoMatchOutput {
  int32_t* detOf;
  int32_t* rank;
  uint8_t* outcome;  // [area][threshold][kept]
  double* npig;      // [k × areas]
  int64_t kept;
};

/** Matches every cell, writing each one's detections at the next layout positions. */
void matchCocoCells(const CocoMatchInput& in, CocoMatchOutput& out);

}  // namespace omni
