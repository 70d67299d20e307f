// A scanner for COCO results files (a JSON array of {image_id, category_id, score, bbox,
// keypoints}) that writes the records straight into columns, off the JavaScript thread. It
// accepts only the common, valid shape; anything else (a syntax error, a missing or repeated
// field, a non-integer id, an escaped key, a number out of double range, ...) makes it give
// up, and @omnidistill/coco then reads the file with its own parsers, whose errors name the
// record. So it never has to reproduce a validation message, only JSON.parse's values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace omni {

/** The records of a results file, one entry per record in file order. */
struct CocoResultsColumns {
  std::vector<double> imageId, categoryId, score;
  /** [4 n]: x, y, w, h (NaN where the record has no box). */
  std::vector<double> bbox;
  std::vector<uint8_t> hasBox;
  /** Where each record's keypoints start in `keypoints`, and how many numbers (-1: none). */
  std::vector<int32_t> kpStart, kpCount;
  std::vector<double> keypoints;
};

/**
 * Scans `size` bytes of a results file into `out`. Returns false when the text is outside
 * the accepted shape (the caller then uses the general parser). `skipBoxedKeypoints`: the
 * keypoints of records that have a box are syntax-checked and left out (a box evaluation
 * never reads them).
 */
bool scanCocoResults(const uint8_t* data, size_t size, bool skipBoxedKeypoints, CocoResultsColumns& out);

}  // namespace omni
