// A whole file's bytes in memory, for the COCO scanners (addon.cc reads a file on the pool
// thread, then scans it). On Linux the buffer is anonymous memory aligned to 2 MiB and marked
// for transparent huge pages: a 34 MB results file then costs ~17 page faults instead of
// ~8 300 (each zeroing 4 KiB), which was about a third of the scan's CPU time in the kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace omni {

/**
 * Asks (Linux) for transparent huge pages on the 2 MiB-aligned part of [data, data + bytes)
 * that is not touched yet: one fault per 2 MiB instead of per 4 KiB. Advice only: a no-op
 * elsewhere, for small ranges, or where the kernel declines.
 */
void adviseHugePages(void* data, size_t bytes);

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
  /** what release() frees: the mapping (Linux) or the heap block */
  void* block_ = nullptr;
  size_t blockSize_ = 0;
};

}  // namespace omni
