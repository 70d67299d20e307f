// How the COCO scanners' columns grow: after a sample of records each column is reserved for
// the whole text at the bytes per record seen so far (+10 %). The columns of a 34 MB results
// file then grow once instead of doubling ~20 times (each a copy, and fresh pages to fault in,
// of up to 12 MB of keypoints).
#pragma once

#include <cstddef>
#include <vector>

namespace omni {

/** Records read before the columns are reserved for the rest of the text. */
constexpr size_t kSampleRecords = 1024;

/**
 * The factor from the records read so far to those of the whole array: the array started at
 * byte `from` of a `size`-byte text and the cursor is at `at` (+10 % for records that run longer).
 */
inline double wholeTextScale(size_t from, size_t at, size_t size) {
  return 1.1 * static_cast<double>(size - from) / static_cast<double>(at > from ? at - from : 1);
}

/** Reserves `v` for `scale` times its current size (+16). */
template <typename T>
void reserveScaled(std::vector<T>& v, double scale) {
  v.reserve(static_cast<size_t>(static_cast<double>(v.size()) * scale) + 16);
}

/** reserveScaled for each of `columns`. */
template <typename... Columns>
void reserveAllScaled(double scale, Columns&... columns) {
  (reserveScaled(columns, scale), ...);
}

}  // namespace omni
