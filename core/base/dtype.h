#ifndef ATTNSERVE_CORE_BASE_DTYPE_H_
#define ATTNSERVE_CORE_BASE_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/string_view.h"

namespace attnserve::core {

// Element types a core::Tensor can hold.
enum class DType { kFP32, kBF16 };

inline size_t DTypeSize(DType dtype) { return dtype == DType::kFP32 ? 4 : 2; }
inline absl::string_view DTypeName(DType dtype) {
  return dtype == DType::kFP32 ? "FP32" : "BF16";
}

// bfloat16 stored as its 16 raw bits (the upper half of an IEEE float).
struct BF16 {
  uint16_t bits;
};

// Round to nearest even; NaN stays a (quiet) NaN.
inline BF16 FloatToBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return BF16{uint16_t((u >> 16) | 0x40)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return BF16{uint16_t(u >> 16)};
}

inline float BF16ToFloat(BF16 b) {
  uint32_t u = uint32_t(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// IEEE half (binary16) to float, for FP16 inputs.
float HalfToFloat(uint16_t h);

void FloatToBF16(const float* src, BF16* dst, size_t n);
void BF16ToFloat(const BF16* src, float* dst, size_t n);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BASE_DTYPE_H_
