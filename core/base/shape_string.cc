#include "core/base/shape_string.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace attnserve::core {

std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace attnserve::core
