#ifndef ATTNSERVE_CORE_BASE_FILE_UTIL_H_
#define ATTNSERVE_CORE_BASE_FILE_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace attnserve::core {

// The bytes of the regular file at `path`, read whole. Errors start with the
// path: NOT_FOUND when it does not exist ("<path>: file not found");
// INVALID_ARGUMENT when it is not a readable regular file (a directory, a
// FIFO that would block, no permission), holds more than `max_bytes` (checked
// before reading) or cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     int64_t max_bytes);

// Whether anything exists at `path`.
bool PathExists(const std::string& path);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BASE_FILE_UTIL_H_
