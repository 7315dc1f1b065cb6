#ifndef ATTNSERVE_CORE_BASE_SHAPE_STRING_H_
#define ATTNSERVE_CORE_BASE_SHAPE_STRING_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace attnserve::core {

// A shape as error messages write it: {2, 3, 64} -> "[2, 3, 64]", {} -> "[]".
std::string ShapeString(absl::Span<const int64_t> shape);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BASE_SHAPE_STRING_H_
