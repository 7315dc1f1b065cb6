#ifndef ATTNSERVE_CLIENT_NPY_H_
#define ATTNSERVE_CLIENT_NPY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnserve::client {

// A NumPy array as float32, C order.
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Parses the bytes of a .npy file (format 1.0 to 3.0) holding little-endian
// float16, float32 or float64 in C order; values are converted to float32.
// Errors name `name` (e.g. the file) and what was expected.
absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes,
                                  absl::string_view name);
// The bytes of a format 1.0 .npy file holding `array` as '<f4'.
std::string SerializeNpy(const NpyArray& array);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_NPY_H_
