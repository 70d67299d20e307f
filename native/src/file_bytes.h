// A whole file's bytes in memory, for the COCO scanners (addon.cc reads a file on the pool
// thread, then scans it). Plain heap memory: advising transparent huge pages for it (and for
// the columns) cut the page faults of a fresh process but cost 0.1-0.3 s of kernel time per
// 5k-image eval whenever another memory-heavy process had just run (measured alternating
// with pycocotools: system time 0.23-0.31 s with the advice, 0.08-0.12 s without).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace omni {

class FileBytes {
 public:
  FileBytes() = default;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes() { release(); }

  /**
   * Reads the whole regular file at `path`; false when it is not one, cannot be read, or
   * changed size while being read (then nothing is held).
   */
  bool read(const std::string& path);
  /** Frees the bytes now (the destructor does too). */
  void release();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace omni
