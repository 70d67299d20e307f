// The COCO results scanner (see coco_results.h). Numbers are checked against JSON's grammar,
// then converted by std::from_chars, which rounds correctly, as JSON.parse does: the doubles
// are the ones JSON.parse would give. A number from_chars cannot represent (overflow,
// underflow) makes the scan give up rather than guess.
#include "coco_results.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <system_error>

namespace omni {
namespace {

/** Thrown inside the scanner when the text leaves the accepted shape; caught by scanCocoResults. */
struct OutsideShape {};

/** The record fields the scanner stores; any other key's value is syntax-checked and left out. */
enum class Field { ImageId, CategoryId, Score, Bbox, Keypoints, Other };

constexpr int kMaxDepth = 256;

bool isDigit(uint8_t c) { return c >= '0' && c <= '9'; }

class ResultsScanner {
 public:
  ResultsScanner(const uint8_t* data, size_t size, bool skipBoxedKeypoints)
      : p_(data), end_(data + size), skipBoxedKeypoints_(skipBoxedKeypoints) {}

  void run(CocoResultsColumns& out) {
    ws();
    expect('[');
    ws();
    if (peek() == ']') {
      ++p_;
    } else {
      for (;;) {
        record(out);
        ws();
        const uint8_t c = next();
        if (c == ']') break;
        if (c != ',') throw OutsideShape{};
        ws();
      }
    }
    ws();
    if (p_ != end_) throw OutsideShape{};
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const bool skipBoxedKeypoints_;
  std::vector<double> box_;

  /** The next byte, or 0 at the end (0 is never valid where a structural byte is read). */
  uint8_t peek() const { return p_ < end_ ? *p_ : 0; }
  uint8_t next() { return p_ < end_ ? *p_++ : 0; }
  void expect(uint8_t c) {
    if (next() != c) throw OutsideShape{};
  }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  /** Moves past one JSON number, checking its grammar; returns where it started. */
  const uint8_t* skipNumber() {
    const uint8_t* start = p_;
    if (peek() == '-') ++p_;
    if (peek() == '0') {
      ++p_;
    } else if (isDigit(peek())) {
      while (isDigit(peek())) ++p_;
    } else {
      throw OutsideShape{};
    }
    if (peek() == '.') {
      ++p_;
      if (!isDigit(peek())) throw OutsideShape{};
      while (isDigit(peek())) ++p_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++p_;
      if (peek() == '+' || peek() == '-') ++p_;
      if (!isDigit(peek())) throw OutsideShape{};
      while (isDigit(peek())) ++p_;
    }
    return start;
  }

  /** One JSON number as the double JSON.parse gives (finite: out-of-range numbers give up). */
  double number() {
    const uint8_t* start = skipNumber();
    double v = 0;
    const auto r = std::from_chars(reinterpret_cast<const char*>(start), reinterpret_cast<const char*>(p_), v);
    if (r.ec != std::errc() || r.ptr != reinterpret_cast<const char*>(p_) || !std::isfinite(v)) throw OutsideShape{};
    return v;
  }

  /** An array of numbers appended to `into`; returns how many. */
  size_t numberArray(std::vector<double>& into) {
    expect('[');
    ws();
    size_t n = 0;
    if (peek() == ']') {
      ++p_;
      return 0;
    }
    for (;;) {
      into.push_back(number());
      ++n;
      ws();
      const uint8_t c = next();
      if (c == ']') return n;
      if (c != ',') throw OutsideShape{};
      ws();
    }
  }

  /** Moves past a string (p_ at its opening quote), checking control characters and escapes. */
  void skipString() {
    expect('"');
    for (;;) {
      const uint8_t c = next();
      if (c == '"') return;
      if (c < 0x20) throw OutsideShape{};  // also the end of the text (0)
      if (c != '\\') continue;
      const uint8_t e = next();
      if (e == 'u') {
        for (int i = 0; i < 4; i++) {
          const uint8_t h = next();
          if (!isDigit(h) && !((h | 0x20) >= 'a' && (h | 0x20) <= 'f')) throw OutsideShape{};
        }
      } else if (std::strchr("\"\\/bfnrt", e) == nullptr || e == 0) {
        throw OutsideShape{};
      }
    }
  }

  void literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) throw OutsideShape{};
    p_ += word.size();
  }

  /** Moves past any JSON value, checking its syntax only. */
  void skipValue(int depth) {
    if (depth > kMaxDepth) throw OutsideShape{};
    const uint8_t c = peek();
    if (c == '{' || c == '[') {
      const uint8_t close = c == '{' ? '}' : ']';
      ++p_;
      ws();
      if (peek() == close) {
        ++p_;
        return;
      }
      for (;;) {
        if (close == '}') {
          skipString();
          ws();
          expect(':');
          ws();
        }
        skipValue(depth + 1);
        ws();
        const uint8_t d = next();
        if (d == close) return;
        if (d != ',') throw OutsideShape{};
        ws();
      }
    }
    if (c == '"') return skipString();
    if (c == '-' || isDigit(c)) {
      skipNumber();
      return;
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    throw OutsideShape{};
  }

  /** A record key; escaped keys give up (JSON.parse would unescape them into any name). */
  Field key() {
    expect('"');
    const uint8_t* start = p_;
    while (p_ < end_ && *p_ != '"') {
      if (*p_ == '\\' || *p_ < 0x20) throw OutsideShape{};
      ++p_;
    }
    if (p_ == end_) throw OutsideShape{};
    const std::string_view k(reinterpret_cast<const char*>(start), static_cast<size_t>(p_ - start));
    ++p_;
    if (k == "image_id") return Field::ImageId;
    if (k == "category_id") return Field::CategoryId;
    if (k == "score") return Field::Score;
    if (k == "bbox") return Field::Bbox;
    if (k == "keypoints") return Field::Keypoints;
    return Field::Other;
  }

  /** Records the first sighting of a field; a repeated one gives up (JSON.parse keeps the last). */
  static void once(bool& seen) {
    if (seen) throw OutsideShape{};
    seen = true;
  }

  void record(CocoResultsColumns& out) {
    expect('{');
    ws();
    bool seenImage = false, seenCategory = false, seenScore = false, seenBox = false, seenKeypoints = false;
    double imageId = 0, categoryId = 0, score = 0;
    bool hasBox = false;
    double box[4] = {std::nan(""), std::nan(""), std::nan(""), std::nan("")};
    const size_t kpBegin = out.keypoints.size();
    const uint8_t* kpText = nullptr;  // the keypoints left for later (skip mode)
    if (peek() == '}') throw OutsideShape{};
    for (;;) {
      const Field f = key();
      ws();
      expect(':');
      ws();
      switch (f) {
        case Field::ImageId:
          once(seenImage);
          imageId = number();
          break;
        case Field::CategoryId:
          once(seenCategory);
          categoryId = number();
          break;
        case Field::Score:
          once(seenScore);
          score = number();
          break;
        case Field::Bbox: {
          once(seenBox);
          if (peek() != '[') throw OutsideShape{};
          box_.clear();
          const size_t n = numberArray(box_);
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
          if (peek() != '[') throw OutsideShape{};
          if (skipBoxedKeypoints_) {
            kpText = p_;
            skipValue(0);
          } else {
            numberArray(out.keypoints);
          }
          break;
        case Field::Other:
          skipValue(0);
          break;
      }
      ws();
      const uint8_t c = next();
      if (c == '}') break;
      if (c != ',') throw OutsideShape{};
      ws();
    }
    if (!seenImage || !seenCategory || !seenScore) throw OutsideShape{};
    if (std::trunc(imageId) != imageId || std::trunc(categoryId) != categoryId) throw OutsideShape{};
    if (kpText != nullptr && !hasBox) {
      // a record without a box needs its keypoints after all (its box is derived from them)
      const uint8_t* resume = p_;
      p_ = kpText;
      numberArray(out.keypoints);
      p_ = resume;
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
  try {
    ResultsScanner(data, size, skipBoxedKeypoints).run(out);
    return true;
  } catch (const OutsideShape&) {
    out = CocoResultsColumns{};
    return false;
  }
}

}  // namespace omni
