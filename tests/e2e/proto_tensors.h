#ifndef ATTNSERVE_TESTS_E2E_PROTO_TENSORS_H_
#define ATTNSERVE_TESTS_E2E_PROTO_TENSORS_H_

// Building and reading attnserve.v1.Tensor messages in end-to-end tests.

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "attnserve/v1/attnserve.pb.h"
#include "core/base/dtype.h"

namespace attnserve::e2e {

inline int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

inline std::vector<float> RandomFloats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(n);
  for (float& v : values) v = uniform(rng);
  return values;
}

// `values` as FP32 `values` (as_raw false) or little-endian FP32 `raw`.
inline v1::Tensor ProtoTensor(const std::vector<int64_t>& shape,
                              const std::vector<float>& values,
                              bool as_raw = false) {
  v1::Tensor t;
  for (int64_t d : shape) t.add_shape(d);
  if (as_raw) {
    t.set_dtype(v1::FP32);
    t.set_raw(std::string(reinterpret_cast<const char*>(values.data()),
                          values.size() * 4));
  } else {
    for (float v : values) t.add_values(v);
  }
  return t;
}

// The elements of a response tensor (raw FP32 or BF16) as floats.
inline std::vector<float> ProtoFloats(const v1::Tensor& t) {
  if (t.values_size() > 0)
    return std::vector<float>(t.values().begin(), t.values().end());
  const bool bf16 = t.dtype() == v1::BF16;
  const size_t n = t.raw().size() / (bf16 ? 2 : 4);
  std::vector<float> values(n);
  for (size_t i = 0; i < n; ++i) {
    if (bf16) {
      core::BF16 b;
      std::memcpy(&b.bits, t.raw().data() + 2 * i, 2);
      values[i] = core::BF16ToFloat(b);
    } else {
      std::memcpy(&values[i], t.raw().data() + 4 * i, 4);
    }
  }
  return values;
}

}  // namespace attnserve::e2e

#endif  // ATTNSERVE_TESTS_E2E_PROTO_TENSORS_H_
