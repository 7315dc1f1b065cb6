#ifndef ATTNSERVE_CORE_IO_SAFETENSORS_H_
#define ATTNSERVE_CORE_IO_SAFETENSORS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/tensor.h"

namespace attnserve::core {

// Element types of a safetensors file that attnserve reads.
enum class SafetensorsDType { kF32, kF16, kBF16 };

struct SafetensorsTensorInfo {
  std::string name;
  SafetensorsDType dtype;
  std::vector<int64_t> shape;
  // Byte range of the tensor's data, relative to the start of the file.
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsTensorInfo> tensors;  // in header order
  const SafetensorsTensorInfo* Find(absl::string_view name) const;
};

// Parses and validates a whole safetensors file held in `bytes`: 8-byte
// little-endian header length, JSON header, data region. Checks dtypes (F32,
// F16, BF16), shapes, byte counts and that data ranges lie inside the data
// region without overlapping. `__metadata__` is ignored. Error messages start
// with `file_name`. Pure function, no I/O.
absl::StatusOr<SafetensorsHeader> ParseSafetensors(absl::string_view bytes,
                                                   absl::string_view file_name);

// The tensor's data converted to an FP32 tensor of the same shape.
// `bytes` is the whole file the header was parsed from.
Tensor SafetensorsToFloat(absl::string_view bytes,
                          const SafetensorsTensorInfo& info);

// A safetensors file mapped read-only into memory.
class SafetensorsFile {
 public:
  // Maps and parses `path`; errors name the path.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(
      const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  absl::string_view bytes() const { return bytes_; }
  // Drops the resident pages that lie wholly inside the tensor's data
  // (madvise MADV_DONTNEED; a later read maps them again from the page
  // cache), so that a loader that copied the tensor does not hold the file's
  // pages in its RSS as well.
  void ReleasePages(const SafetensorsTensorInfo& info) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  absl::string_view bytes_;
  SafetensorsHeader header_;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_IO_SAFETENSORS_H_
