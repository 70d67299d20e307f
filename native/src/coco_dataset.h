// A scanner for COCO ground-truth files ({images, annotations, categories, ...}) that writes
// images and annotations straight into columns, off the JavaScript thread. Like the results
// scanner (coco_results.h) it accepts only valid files of the common shape and gives up on
// anything else (a syntax error, a missing or repeated field, a wrong type, a duplicate id, an
// annotation naming an unknown image or category, a keypoint count its category does not
// declare, ...): @omnidistill/coco then reads the file with its own parsers, whose errors name
// the record. Members it does not read itself (categories, info, licenses, ...) are handed back
// as their JSON text; image records with fields beyond id, width, height and file_name (or an
// escaped file name) as the record's text. Annotation fields COCOeval never reads
// (segmentation, ...) are checked as JSON and left out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace omni {

struct CocoDatasetColumns {
  /** Per image. */
  std::vector<double> imageId, width, height;
  /** 1 when `imageText` holds the whole record's JSON, 0 when it holds the file name. */
  std::vector<uint8_t> imageWhole;
  /** Per image its file name or record text (see imageWhole), each followed by a NUL byte (never inside JSON text). */
  std::string imageText;
  /** Per annotation. */
  std::vector<double> annId, annImageId, annCategoryId, area;
  /** [4 n]: x, y, w, h. */
  std::vector<double> bbox;
  std::vector<uint8_t> iscrowd;
  /** num_keypoints as written, or counted from the keypoints when absent; -1: absent without keypoints. */
  std::vector<double> numKeypoints;
  /** Where each annotation's keypoints start in `keypoints`, and how many numbers (-1: none or skipped). */
  std::vector<int32_t> kpStart, kpCount;
  std::vector<double> keypoints;
  /** A JSON object of every top-level member but images and annotations, as written. */
  std::string restJson;
};

/**
 * Scans `size` bytes of a COCO dataset into `out`. Returns false when the text is outside the
 * accepted shape. `skipKeypoints`: annotation keypoints are syntax-checked and left out (every
 * accepted annotation has a box, and a box evaluation never reads them).
 */
bool scanCocoDataset(const uint8_t* data, size_t size, bool skipKeypoints, CocoDatasetColumns& out);

}  // namespace omni
