// The COCO results scanner (see coco_results.h), on the shared JSON cursor (json_cursor.h),
// whose numbers are JSON.parse's doubles.
#include "coco_results.h"

#include <cmath>
#include <limits>
#include <string_view>

#include "column_growth.h"
#include "json_cursor.h"

namespace omni {
namespace {

/** The record fields the scanner stores; any other key's value is syntax-checked and left out. */
enum class Field { ImageId, CategoryId, Score, Bbox, Keypoints, Other };

Field fieldOf(std::string_view k) {
  if (k == "image_id") return Field::ImageId;
  if (k == "category_id") return Field::CategoryId;
  if (k == "score") return Field::Score;
  if (k == "bbox") return Field::Bbox;
  if (k == "keypoints") return Field::Keypoints;
  return Field::Other;
}

class ResultsScanner {
 public:
  ResultsScanner(const uint8_t* data, size_t size, bool skipBoxedKeypoints) : in_(data, size), size_(size), skipBoxedKeypoints_(skipBoxedKeypoints) {}

  void run(CocoResultsColumns& out) {
    in_.ws();
    in_.eachElement([&] {
      record(out);
      if (out.score.size() == kSampleRecords) {
        reserveAllScaled(wholeTextScale(0, in_.offset(), size_), out.imageId, out.categoryId, out.score, out.bbox, out.hasBox, out.kpStart, out.kpCount, out.keypoints);
      }
    });
    in_.ws();
    if (!in_.atEnd()) throw OutsideShape{};
  }

 private:
  JsonCursor in_;
  const size_t size_;
  const bool skipBoxedKeypoints_;
  std::vector<double> box_;

  void record(CocoResultsColumns& out) {
    bool seenImage = false, seenCategory = false, seenScore = false, seenBox = false, seenKeypoints = false;
    double imageId = 0, categoryId = 0, score = 0;
    bool hasBox = false;
    double box[4] = {std::nan(""), std::nan(""), std::nan(""), std::nan("")};
    const size_t kpBegin = out.keypoints.size();
    const uint8_t* kpText = nullptr;  // the keypoints left for later (skip mode)
    if (in_.opens('{', '}')) throw OutsideShape{};
    do {
      switch (fieldOf(in_.key())) {
        case Field::ImageId:
          once(seenImage);
          imageId = in_.integer();
          break;
        case Field::CategoryId:
          once(seenCategory);
          categoryId = in_.integer();
          break;
        case Field::Score:
          once(seenScore);
          score = in_.number();
          break;
        case Field::Bbox: {
          once(seenBox);
          if (in_.peek() != '[') throw OutsideShape{};
          box_.clear();
          const size_t n = in_.numberArray(box_);
          if (n != 0 && n != 4) throw OutsideShape{};
          hasBox = n == 4;  // an empty box counts as none, as validation treats it
          if (hasBox) {
            if (box_[2] < 0 || box_[3] < 0) throw OutsideShape{};
            for (int i = 0; i < 4; i++) box[i] = box_[i];
          }
          break;
        }
        case Field::Keypoints:
          once(seenKeypoints);
          if (in_.peek() != '[') throw OutsideShape{};
          if (skipBoxedKeypoints_) {
            kpText = in_.position();
            in_.skipValue();
          } else {
            in_.numberArray(out.keypoints);
          }
          break;
        case Field::Other:
          in_.skipValue();
          break;
      }
    } while (!in_.closes('}'));
    if (!seenImage || !seenCategory || !seenScore) throw OutsideShape{};
    if (kpText != nullptr && !hasBox) {
      // a record without a box needs its keypoints after all (its box is derived from them)
      const uint8_t* resume = in_.position();
      in_.moveTo(kpText);
      in_.numberArray(out.keypoints);
      in_.moveTo(resume);
    }
    const bool hasKeypoints = seenKeypoints && !(skipBoxedKeypoints_ && hasBox);
    const size_t kpN = out.keypoints.size() - kpBegin;
    if (!hasBox && !hasKeypoints) throw OutsideShape{};
    if (hasKeypoints && kpN % 3 != 0) throw OutsideShape{};
    if (out.keypoints.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) throw OutsideShape{};
    out.imageId.push_back(imageId);
    out.categoryId.push_back(categoryId);
    out.score.push_back(score);
    out.bbox.insert(out.bbox.end(), box, box + 4);
    out.hasBox.push_back(hasBox ? 1 : 0);
    out.kpStart.push_back(static_cast<int32_t>(kpBegin));
    out.kpCount.push_back(hasKeypoints ? static_cast<int32_t>(kpN) : -1);
  }
};

}  // namespace

bool scanCocoResults(const uint8_t* data, size_t size, bool skipBoxedKeypoints, CocoResultsColumns& out) {
  return scanOrDecline(ResultsScanner(data, size, skipBoxedKeypoints), out);
}

}  // namespace omni
