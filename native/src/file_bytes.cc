// FileBytes (file_bytes.h): the buffer, and the read that checks the file kept its size.
#include "file_bytes.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace omni {
namespace {

#ifdef __linux__
constexpr size_t kHugePage = size_t{2} << 20;
/** Files below this are read into ordinary heap memory (huge pages would only waste memory). */
constexpr size_t kHugePageFrom = size_t{4} << 20;
#endif

}  // namespace

void adviseHugePages(void* data, size_t bytes) {
#ifdef __linux__
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHugePage - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

void FileBytes::release() {
#ifdef __linux__
  if (block_ != nullptr && blockSize_ != 0) munmap(block_, blockSize_);
#endif
  if (block_ != nullptr && blockSize_ == 0) std::free(block_);
  block_ = nullptr;
  blockSize_ = 0;
  data_ = nullptr;
  size_ = 0;
}

bool FileBytes::read(const std::string& path) {
  release();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || ec) return false;
  const std::uintmax_t fileSize = std::filesystem::file_size(path, ec);
  if (ec) return false;
  const size_t size = static_cast<size_t>(fileSize);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
#ifdef __linux__
  if (size >= kHugePageFrom) {
    // over-map by one huge page so that an aligned start exists inside the mapping
    const size_t mapped = size + kHugePage;
    void* m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
      block_ = m;
      blockSize_ = mapped;
      const uintptr_t start = (reinterpret_cast<uintptr_t>(m) + kHugePage - 1) & ~(kHugePage - 1);
      data_ = reinterpret_cast<uint8_t*>(start);
      adviseHugePages(data_, size);
    }
  }
#endif
  if (data_ == nullptr && size > 0) {
    block_ = std::malloc(size);
    data_ = static_cast<uint8_t*>(block_);
  }
  if (data_ == nullptr && size > 0) {
    std::fclose(f);
    return false;
  }
  size_ = size;
  // the file must still end where it did: a short read or extra bytes mean it changed meanwhile
  const bool ok = std::fread(data_, 1, size_, f) == size_ && std::fgetc(f) == EOF;
  std::fclose(f);
  if (!ok) release();
  return ok;
}

}  // namespace omni
