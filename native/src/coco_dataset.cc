// The COCO dataset scanner (see coco_dataset.h), on the shared JSON cursor (json_cursor.h).
// It checks every rule of @omnidistill/coco's validateDataset that concerns the images and
// annotations it reads (ids, references, boxes, areas, crowd flags, keypoint counts and
// visibility flags, num_keypoints); the categories are validated by the caller from their text.
#include "coco_dataset.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "column_growth.h"
#include "json_cursor.h"

namespace omni {
namespace {

/** What the annotation checks need of a category: its id and keypoint count (-1: none declared). */
struct CategoryKeys {
  double id;
  int64_t k;
  bool operator<(const CategoryKeys& o) const { return id < o.id; }
};

/** Sorts a copy of `ids`; gives up when one repeats. */
std::vector<double> sortedUnique(const std::vector<double>& ids) {
  std::vector<double> s(ids);
  std::sort(s.begin(), s.end());
  if (std::adjacent_find(s.begin(), s.end()) != s.end()) throw OutsideShape{};
  return s;
}

class DatasetScanner {
 public:
  DatasetScanner(const uint8_t* data, size_t size, bool skipKeypoints) : in_(data, size), size_(size), skipKeypoints_(skipKeypoints) {}

  void run(CocoDatasetColumns& out) {
    in_.ws();
    if (in_.opens('{', '}')) throw OutsideShape{};
    bool seenImages = false, seenAnnotations = false, seenCategories = false;
    out.restJson = "{";
    do {
      const std::string_view k = in_.key();
      if (k == "images") {
        once(seenImages);
        in_.eachElement([&] { image(out); });
        continue;
      }
      if (k == "annotations") {
        once(seenAnnotations);
        const size_t from = in_.offset();
        in_.eachElement([&] {
          annotation(out);
          if (out.annId.size() != kSampleRecords) return;
          reserveAllScaled(wholeTextScale(from, in_.offset(), size_), out.annId, out.annImageId, out.annCategoryId, out.area, out.bbox, out.iscrowd,
                           out.numKeypoints, out.kpStart, out.kpCount, out.keypoints);
        });
        continue;
      }
      const uint8_t* value = in_.position();
      if (k == "categories") {
        once(seenCategories);
        categories();
      } else {
        in_.skipValue();
      }
      if (out.restJson.size() > 1) out.restJson += ',';
      out.restJson.append("\"").append(k).append("\":").append(reinterpret_cast<const char*>(value), static_cast<size_t>(in_.position() - value));
    } while (!in_.closes('}'));
    out.restJson += '}';
    in_.ws();
    if (!in_.atEnd()) throw OutsideShape{};
    if (!seenImages || !seenAnnotations || !seenCategories) throw OutsideShape{};
    crossCheck(out);
  }

 private:
  JsonCursor in_;
  const size_t size_;
  const bool skipKeypoints_;
  std::vector<double> box_;
  std::vector<CategoryKeys> categories_;

  void image(CocoDatasetColumns& out) {
    const uint8_t* start = in_.position();
    if (in_.peek() != '{' || in_.opens('{', '}')) throw OutsideShape{};
    bool seenId = false, seenWidth = false, seenHeight = false, seenName = false;
    bool whole = false;  // a field the columns do not hold, or an escaped name: JSON.parse the record
    double id = 0, width = 0, height = 0;
    const uint8_t *name = nullptr, *nameEnd = nullptr;
    do {
      const std::string_view k = in_.key();
      if (k == "id") {
        once(seenId);
        id = in_.integer();
      } else if (k == "width" || k == "height") {
        once(k == "width" ? seenWidth : seenHeight);
        const double v = in_.integer();
        if (v < 1) throw OutsideShape{};
        (k == "width" ? width : height) = v;
      } else if (k == "file_name") {
        once(seenName);
        if (in_.peek() != '"') throw OutsideShape{};
        name = in_.position() + 1;
        if (in_.skipString()) whole = true;
        nameEnd = in_.position() - 1;
      } else {
        in_.skipValue();
        whole = true;
      }
    } while (!in_.closes('}'));
    if (!seenId || !seenWidth || !seenHeight || !seenName) throw OutsideShape{};
    out.imageId.push_back(id);
    out.width.push_back(width);
    out.height.push_back(height);
    out.imageWhole.push_back(whole ? 1 : 0);
    const uint8_t* from = whole ? start : name;
    const uint8_t* to = whole ? in_.position() : nameEnd;
    out.imageText.append(reinterpret_cast<const char*>(from), static_cast<size_t>(to - from)).push_back('\0');
  }

  void annotation(CocoDatasetColumns& out) {
    if (in_.peek() != '{' || in_.opens('{', '}')) throw OutsideShape{};
    bool seenId = false, seenImage = false, seenCategory = false, seenBox = false, seenArea = false, seenCrowd = false;
    bool seenKeypoints = false, seenNum = false;
    double id = 0, imageId = 0, categoryId = 0, area = 0, crowd = 0, num = 0;
    double box[4] = {0, 0, 0, 0};
    const size_t kpBegin = out.keypoints.size();
    do {
      const std::string_view k = in_.key();
      if (k == "id") {
        once(seenId);
        id = in_.integer();
      } else if (k == "image_id") {
        once(seenImage);
        imageId = in_.integer();
      } else if (k == "category_id") {
        once(seenCategory);
        categoryId = in_.integer();
      } else if (k == "bbox") {
        once(seenBox);
        if (in_.peek() != '[') throw OutsideShape{};
        box_.clear();
        if (in_.numberArray(box_) != 4 || box_[2] < 0 || box_[3] < 0) throw OutsideShape{};
        std::copy(box_.begin(), box_.end(), box);
      } else if (k == "area") {
        once(seenArea);
        area = in_.number();
        if (area < 0) throw OutsideShape{};
      } else if (k == "iscrowd") {
        once(seenCrowd);
        crowd = in_.number();
        if (crowd != 0 && crowd != 1) throw OutsideShape{};
      } else if (k == "keypoints") {
        once(seenKeypoints);
        // skipped: validation sees none (the box every accepted annotation has is what is evaluated)
        if (skipKeypoints_) {
          in_.skipValue();
        } else {
          if (in_.peek() != '[') throw OutsideShape{};
          in_.numberArray(out.keypoints);
        }
      } else if (k == "num_keypoints") {
        once(seenNum);
        num = in_.number();
      } else {
        in_.skipValue();
      }
    } while (!in_.closes('}'));
    if (!seenId || !seenImage || !seenCategory || !seenBox || !seenArea) throw OutsideShape{};
    const bool kept = seenKeypoints && !skipKeypoints_;
    int64_t kpN = -1;
    if (kept) {
      kpN = static_cast<int64_t>(out.keypoints.size() - kpBegin);
      if (kpN % 3 != 0) throw OutsideShape{};
      int64_t labeled = 0;
      for (size_t i = kpBegin + 2; i < out.keypoints.size(); i += 3) {
        const double v = out.keypoints[i];
        if (v != 0 && v != 1 && v != 2) throw OutsideShape{};
        if (v > 0) labeled++;
      }
      if (seenNum && num != static_cast<double>(labeled)) throw OutsideShape{};
      num = static_cast<double>(labeled);
    } else if (seenNum) {
      if (std::trunc(num) != num || num < 0) throw OutsideShape{};
    } else {
      num = -1;
    }
    if (out.keypoints.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) throw OutsideShape{};
    out.annId.push_back(id);
    out.annImageId.push_back(imageId);
    out.annCategoryId.push_back(categoryId);
    out.area.push_back(area);
    out.bbox.insert(out.bbox.end(), box, box + 4);
    out.iscrowd.push_back(crowd == 1 ? 1 : 0);
    out.numKeypoints.push_back(num);
    out.kpStart.push_back(static_cast<int32_t>(kpBegin));
    out.kpCount.push_back(static_cast<int32_t>(kpN));
  }

  /** Reads each category's id and keypoint count; the caller validates the rest from the text. */
  void categories() {
    in_.eachElement([&] {
      if (in_.peek() != '{' || in_.opens('{', '}')) throw OutsideShape{};
      bool seenId = false, seenKeypoints = false;
      CategoryKeys c{0, -1};
      do {
        const std::string_view k = in_.key();
        if (k == "id") {
          once(seenId);
          c.id = in_.integer();
        } else if (k == "keypoints") {
          once(seenKeypoints);
          c.k = 0;
          in_.eachElement([&] {
            if (in_.peek() != '"') throw OutsideShape{};
            in_.skipString();
            c.k++;
          });
        } else {
          in_.skipValue();
        }
      } while (!in_.closes('}'));
      if (!seenId) throw OutsideShape{};
      categories_.push_back(c);
    });
  }

  /** Ids unique; every annotation names a known image and category, with the keypoint count the category declares. */
  void crossCheck(const CocoDatasetColumns& out) {
    const std::vector<double> images = sortedUnique(out.imageId);
    sortedUnique(out.annId);
    std::sort(categories_.begin(), categories_.end());
    for (size_t i = 1; i < categories_.size(); i++) {
      if (categories_[i].id == categories_[i - 1].id) throw OutsideShape{};
    }
    for (size_t a = 0; a < out.annId.size(); a++) {
      if (!std::binary_search(images.begin(), images.end(), out.annImageId[a])) throw OutsideShape{};
      const auto c = std::lower_bound(categories_.begin(), categories_.end(), CategoryKeys{out.annCategoryId[a], 0});
      if (c == categories_.end() || c->id != out.annCategoryId[a]) throw OutsideShape{};
      if (out.kpCount[a] >= 0 && c->k >= 0 && out.kpCount[a] != 3 * c->k) throw OutsideShape{};
    }
  }
};

}  // namespace

bool scanCocoDataset(const uint8_t* data, size_t size, bool skipKeypoints, CocoDatasetColumns& out) {
  return scanOrDecline(DatasetScanner(data, size, skipKeypoints), out);
}

}  // namespace omni
