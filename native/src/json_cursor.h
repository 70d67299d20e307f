// The JSON reading steps shared by the COCO scanners (coco_results.cc, coco_dataset.cc): a
// cursor over bytes that checks JSON's grammar as it moves and throws OutsideShape the moment
// the text leaves what a scanner accepts. Numbers are converted by std::from_chars, which
// rounds correctly, as JSON.parse does: the doubles are the ones JSON.parse would give; a
// number from_chars cannot represent (overflow, underflow) gives up rather than guess.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

namespace omni {

/** Thrown inside a scanner when the text leaves the accepted shape; caught at its entry point. */
struct OutsideShape {};

class JsonCursor {
 public:
  /** Objects and arrays nested deeper than this give up (JSON.parse would take them). */
  static constexpr int kMaxDepth = 256;

  JsonCursor(const uint8_t* data, size_t size) : begin_(data), p_(data), end_(data + size) {}

  static bool isDigit(uint8_t c) { return c >= '0' && c <= '9'; }

  /** The next byte, or 0 at the end (0 is never valid where a structural byte is read). */
  uint8_t peek() const { return p_ < end_ ? *p_ : 0; }
  uint8_t next() { return p_ < end_ ? *p_++ : 0; }
  void expect(uint8_t c) {
    if (next() != c) throw OutsideShape{};
  }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool atEnd() const { return p_ == end_; }
  /** Where the cursor is, as an offset from the start of the text. */
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  const uint8_t* position() const { return p_; }
  void moveTo(const uint8_t* p) { p_ = p; }

  /** After a value inside a container: true at its closing byte, false after a comma (then at the next value). */
  bool closes(uint8_t close) {
    ws();
    const uint8_t c = next();
    if (c == close) return true;
    if (c != ',') throw OutsideShape{};
    ws();
    return false;
  }

  /** At an opening byte: moves past it; true when the container is empty (and moves past its close too). */
  bool opens(uint8_t open, uint8_t close) {
    expect(open);
    ws();
    if (peek() != close) return false;
    ++p_;
    return true;
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

  /** A number that is an integer (Number.isInteger), as a double. */
  double integer() {
    const double v = number();
    if (std::trunc(v) != v) throw OutsideShape{};
    return v;
  }

  /** At an array: calls `element()` at each of its values (none for []); gives up on anything else. */
  template <typename Element>
  void eachElement(Element&& element) {
    if (opens('[', ']')) return;
    do element();
    while (!closes(']'));
  }

  /** An array of numbers appended to `into`; returns how many. */
  size_t numberArray(std::vector<double>& into) {
    const size_t before = into.size();
    eachElement([&] { into.push_back(number()); });
    return into.size() - before;
  }

  /** Moves past a string (at its opening quote), checking control characters and escapes; returns whether it had escapes. */
  bool skipString() {
    expect('"');
    bool escaped = false;
    for (;;) {
      const uint8_t c = next();
      if (c == '"') return escaped;
      if (c < 0x20) throw OutsideShape{};  // also the end of the text (0)
      if (c != '\\') continue;
      escaped = true;
      const uint8_t e = next();
      if (e == 'u') {
        for (int i = 0; i < 4; i++) {
          const uint8_t h = next();
          if (!isDigit(h) && !((h | 0x20) >= 'a' && (h | 0x20) <= 'f')) throw OutsideShape{};
        }
      } else if (e == 0 || std::strchr("\"\\/bfnrt", e) == nullptr) {
        throw OutsideShape{};
      }
    }
  }

  void literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) throw OutsideShape{};
    p_ += word.size();
  }

  /** Moves past any JSON value, checking its syntax only. */
  void skipValue(int depth = 0) {
    if (depth > kMaxDepth) throw OutsideShape{};
    const uint8_t c = peek();
    if (c == '{' || c == '[') {
      const uint8_t close = c == '{' ? '}' : ']';
      if (opens(c, close)) return;
      do {
        if (close == '}') {
          skipString();
          ws();
          expect(':');
          ws();
        }
        skipValue(depth + 1);
      } while (!closes(close));
      return;
    }
    if (c == '"') {
      skipString();
      return;
    }
    if (c == '-' || isDigit(c)) {
      skipNumber();
      return;
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    throw OutsideShape{};
  }

  /**
   * An object key and its colon (at the opening quote); the cursor ends at the value. Escaped
   * keys give up: JSON.parse would unescape them into any name.
   */
  std::string_view key() {
    expect('"');
    const uint8_t* start = p_;
    while (p_ < end_ && *p_ != '"') {
      if (*p_ == '\\' || *p_ < 0x20) throw OutsideShape{};
      ++p_;
    }
    if (p_ == end_) throw OutsideShape{};
    const std::string_view k(reinterpret_cast<const char*>(start), static_cast<size_t>(p_ - start));
    ++p_;
    ws();
    expect(':');
    ws();
    return k;
  }

 private:
  const uint8_t* begin_;
  const uint8_t* p_;
  const uint8_t* end_;
};

/** Records the first sighting of a field; a repeated one gives up (JSON.parse keeps the last). */
inline void once(bool& seen) {
  if (seen) throw OutsideShape{};
  seen = true;
}

/**
 * Runs `scanner` over its bytes into `out`: true when the whole text had the shape the scanner
 * takes; otherwise `out` is emptied and false tells the caller to use the JavaScript parser.
 */
template <typename Scanner, typename Columns>
bool scanOrDecline(Scanner&& scanner, Columns& out) {
  try {
    scanner.run(out);
    return true;
  } catch (const OutsideShape&) {
    out = Columns{};
    return false;
  }
}

}  // namespace omni
