#include "core/io/weight_source.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/shape_string.h"
#include "core/base/status_macros.h"

namespace attnserve::core {

absl::StatusOr<std::unique_ptr<SafetensorsWeightSource>>
SafetensorsWeightSource::Open(const std::string& path, absl::string_view probe,
                              const std::vector<std::string>& prefixes) {
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                   SafetensorsFile::Open(path));
  std::unique_ptr<SafetensorsWeightSource> source(
      new SafetensorsWeightSource(std::move(file)));
  for (const std::string& prefix : prefixes) {
    if (source->file_->header().Find(absl::StrCat(prefix, probe)) != nullptr) {
      source->prefix_ = prefix;
      break;
    }
  }
  return source;
}

absl::StatusOr<Tensor> SafetensorsWeightSource::Get(
    const std::string& name, absl::Span<const int64_t> shape) const {
  const SafetensorsTensorInfo* info = file_->header().Find(prefix_ + name);
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_->path(), ": tensor \"", prefix_ + name, "\" is missing"));
  }
  if (absl::Span<const int64_t>(info->shape) != shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_->path(), ": tensor \"", name, "\" has shape ",
        ShapeString(info->shape), ", expected ", ShapeString(shape)));
  }
  Tensor tensor = SafetensorsToFloat(file_->bytes(), *info);
  file_->ReleasePages(*info);
  return tensor;
}

bool SafetensorsWeightSource::Contains(const std::string& name) const {
  return file_->header().Find(prefix_ + name) != nullptr;
}

}  // namespace attnserve::core
