#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr int64_t kMaxElements = int64_t{1} << 40;

absl::Status Error(absl::string_view file_name, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(file_name, ": ", message));
}

size_t ElementSize(SafetensorsDType dtype) {
  return dtype == SafetensorsDType::kF32 ? 4 : 2;
}

absl::StatusOr<SafetensorsTensorInfo> ParseTensorEntry(
    absl::string_view file_name, const std::string& name,
    const nlohmann::json& entry, uint64_t data_begin, uint64_t data_size) {
  const std::string where = absl::StrCat("tensor \"", name, "\"");
  if (!entry.is_object())
    return Error(file_name, absl::StrCat(where, " is not a JSON object"));
  SafetensorsTensorInfo info;
  info.name = name;

  auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    return Error(file_name,
                 absl::StrCat(where, " has no string field \"dtype\""));
  }
  const std::string dtype = dtype_it->get<std::string>();
  if (dtype == "F32") {
    info.dtype = SafetensorsDType::kF32;
  } else if (dtype == "F16") {
    info.dtype = SafetensorsDType::kF16;
  } else if (dtype == "BF16") {
    info.dtype = SafetensorsDType::kBF16;
  } else {
    return Error(file_name, absl::StrCat(where, " has dtype ", dtype,
                                         ", expected one of F32, F16, BF16"));
  }

  auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) {
    return Error(file_name,
                 absl::StrCat(where, " has no array field \"shape\""));
  }
  if (shape_it->size() > 8) {
    return Error(file_name, absl::StrCat(where, " has rank ", shape_it->size(),
                                         ", expected at most 8"));
  }
  for (size_t i = 0; i < shape_it->size(); ++i) {
    const nlohmann::json& d = (*shape_it)[i];
    if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(kMaxElements)) {
      return Error(file_name,
                   absl::StrCat(where, " shape[", i, "] is ", d.dump(),
                                ", expected an integer in [0, 2^40]"));
    }
    info.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
  }
  ASSIGN_OR_RETURN(
      const int64_t num_elements,
      Tensor::NumElements(info.shape,
                          absl::StrCat(file_name, ": ", where, " shape"),
                          kMaxElements));

  auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() ||
      offsets_it->size() != 2 || !(*offsets_it)[0].is_number_unsigned() ||
      !(*offsets_it)[1].is_number_unsigned()) {
    return Error(file_name,
                 absl::StrCat(where, " data_offsets is not [begin, end]"));
  }
  const uint64_t begin = (*offsets_it)[0].get<uint64_t>();
  const uint64_t end = (*offsets_it)[1].get<uint64_t>();
  if (begin > end || end > data_size) {
    return Error(file_name,
                 absl::StrCat(where, " data_offsets [", begin, ", ", end,
                              "] lie outside the data region of ", data_size,
                              " bytes (truncated file?)"));
  }
  const uint64_t expected_bytes =
      uint64_t(num_elements) * ElementSize(info.dtype);
  if (end - begin != expected_bytes) {
    return Error(file_name,
                 absl::StrCat(where, " data_offsets span ", end - begin,
                              " bytes, expected ", expected_bytes,
                              " for shape and dtype ", dtype));
  }
  info.begin = data_begin + begin;
  info.end = data_begin + end;
  return info;
}

}  // namespace

const SafetensorsTensorInfo* SafetensorsHeader::Find(
    absl::string_view name) const {
  for (const SafetensorsTensorInfo& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

absl::StatusOr<SafetensorsHeader> ParseSafetensors(
    absl::string_view bytes, absl::string_view file_name) {
  if (bytes.size() < 8) {
    return Error(file_name,
                 absl::StrCat("file has ", bytes.size(),
                              " bytes, expected at least 8 (header length)"));
  }
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = header_size << 8 | uint8_t(bytes[i]);
  if (header_size > bytes.size() - 8 || header_size >= kMaxHeaderBytes) {
    return Error(
        file_name,
        absl::StrCat("header length is ", header_size,
                     " bytes, expected at most ",
                     std::min<uint64_t>(bytes.size() - 8, kMaxHeaderBytes - 1),
                     " (file size ", bytes.size(), ")"));
  }
  const absl::string_view header_text = bytes.substr(8, header_size);
  const nlohmann::json header =
      nlohmann::json::parse(header_text.begin(), header_text.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded())
    return Error(file_name, "header is not valid JSON");
  if (!header.is_object())
    return Error(file_name, "header is not a JSON object");

  const uint64_t data_begin = 8 + header_size;
  const uint64_t data_size = bytes.size() - data_begin;
  SafetensorsHeader result;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    ASSIGN_OR_RETURN(SafetensorsTensorInfo info,
                     ParseTensorEntry(file_name, it.key(), it.value(),
                                      data_begin, data_size));
    result.tensors.push_back(std::move(info));
  }

  std::vector<const SafetensorsTensorInfo*> by_offset;
  for (const SafetensorsTensorInfo& t : result.tensors) {
    if (t.end > t.begin) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      return Error(file_name, absl::StrCat("tensors \"", by_offset[i - 1]->name,
                                           "\" and \"", by_offset[i]->name,
                                           "\" overlap in the data region"));
    }
  }
  return result;
}

Tensor SafetensorsToFloat(absl::string_view bytes,
                          const SafetensorsTensorInfo& info) {
  Tensor out(DType::kFP32, info.shape);
  float* dst = out.data<float>();
  const char* src = bytes.data() + info.begin;
  const int64_t n = out.num_elements();
  switch (info.dtype) {
    case SafetensorsDType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      break;
    case SafetensorsDType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = HalfToFloat(h);
      }
      break;
    case SafetensorsDType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        BF16 b;
        std::memcpy(&b.bits, src + 2 * i, 2);
        dst[i] = BF16ToFloat(b);
      }
      break;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(
    const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
  // below as not a regular file); it changes nothing for regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_size_ = static_cast<size_t>(st.st_size);
  if (file->mapping_size_ > 0) {
    void* p =
        ::mmap(nullptr, file->mapping_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": cannot map into memory: ", std::strerror(err)));
    }
    file->mapping_ = p;
    file->bytes_ =
        absl::string_view(static_cast<const char*>(p), file->mapping_size_);
  }
  ::close(fd);
  ASSIGN_OR_RETURN(file->header_, ParseSafetensors(file->bytes_, path));
  return file;
}

void SafetensorsFile::ReleasePages(const SafetensorsTensorInfo& info) const {
  if (mapping_ == nullptr) return;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = (info.begin + page - 1) / page * page;
  const uint64_t end = info.end / page * page;
  if (end <= begin) return;
  // Advice only: on failure the pages simply stay until the file is closed.
  ::madvise(static_cast<char*>(mapping_) + begin, end - begin, MADV_DONTNEED);
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

}  // namespace attnserve::core
