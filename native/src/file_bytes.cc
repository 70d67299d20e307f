// FileBytes (file_bytes.h): the buffer, and the read that checks the file kept its size.
#include "file_bytes.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace omni {

void FileBytes::release() {
  std::free(data_);
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
  if (size > 0) {
    data_ = static_cast<uint8_t*>(std::malloc(size));
    if (data_ == nullptr) {
      std::fclose(f);
      return false;
    }
  }
  size_ = size;
  // the file must still end where it did: a short read or extra bytes mean it changed meanwhile
  const bool ok = std::fread(data_, 1, size_, f) == size_ && std::fgetc(f) == EOF;
  std::fclose(f);
  if (!ok) release();
  return ok;
}

}  // namespace omni
