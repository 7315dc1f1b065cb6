#include "core/kernels/rotary.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::core {

absl::StatusOr<RotaryTable> RotaryTable::Create(int64_t rotary_dim, double base,
                                                int64_t max_positions) {
  if (rotary_dim < 2 || rotary_dim > 1024 || rotary_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("rotary dim is ", rotary_dim,
                     ", expected an even number in [2, 1024]"));
  }
  if (!std::isfinite(base) || base <= 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rotary base is ", base, ", expected a finite number > 1"));
  }
  if (max_positions < 1 || max_positions > (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rotary max positions is ", max_positions,
                     ", expected a number in [1, 1048576]"));
  }
  RotaryTable table;
  table.rotary_dim_ = rotary_dim;
  table.base_ = base;
  table.max_positions_ = max_positions;
  const int64_t half = rotary_dim / 2;
  table.cos_.resize(max_positions * half);
  table.sin_.resize(max_positions * half);
  for (int64_t i = 0; i < half; ++i) {
    const double inv_freq = std::pow(base, -double(2 * i) / double(rotary_dim));
    for (int64_t p = 0; p < max_positions; ++p) {
      const double angle = double(p) * inv_freq;
      table.cos_[p * half + i] = float(std::cos(angle));
      table.sin_[p * half + i] = float(std::sin(angle));
    }
  }
  return table;
}

void RotaryTable::Apply(float* x, int64_t rows, int64_t ld, int64_t num_heads,
                        int64_t head_dim, const int32_t* positions) const {
  const int64_t half = rotary_dim_ / 2;
  for (int64_t r = 0; r < rows; ++r) {
    const float* cos = cos_.data() + int64_t(positions[r]) * half;
    const float* sin = sin_.data() + int64_t(positions[r]) * half;
    for (int64_t h = 0; h < num_heads; ++h) {
      float* lo = x + r * ld + h * head_dim;
      float* hi = lo + half;
      // Independent lanes: the compiler vectorizes this loop.
      for (int64_t i = 0; i < half; ++i) {
        const float a = lo[i];
        const float b = hi[i];
        lo[i] = a * cos[i] - b * sin[i];
        hi[i] = b * cos[i] + a * sin[i];
      }
    }
  }
}

void RotaryReference(float* x, int64_t rows, int64_t ld, int64_t num_heads,
                     int64_t head_dim, int64_t rotary_dim, double base,
                     const int32_t* positions) {
  const int64_t half = rotary_dim / 2;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < num_heads; ++h) {
      float* head = x + r * ld + h * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const double angle = double(positions[r]) *
                             std::pow(base, -2.0 * double(i) / rotary_dim);
        const double a = head[i];
        const double b = head[i + half];
        head[i] = float(a * std::cos(angle) - b * std::sin(angle));
        head[i + half] = float(b * std::cos(angle) + a * std::sin(angle));
      }
    }
  }
}

}  // namespace attnserve::core
