#ifndef ATTNSERVE_TESTS_CORE_ATTENTION_ATTENTION_TEST_UTIL_H_
#define ATTNSERVE_TESTS_CORE_ATTENTION_ATTENTION_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/attention/attention.h"
#include "core/base/tensor.h"

namespace attnserve::core::attention_test {

// A FP32 tensor of `shape` with N(0, 1) entries.
inline Tensor RandomTensor(std::vector<int64_t> shape, std::mt19937_64& rng) {
  Tensor t(DType::kFP32, std::move(shape));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < t.num_elements(); ++i)
    t.data<float>()[i] = normal(rng);
  return t;
}

// A FP32 tensor of `shape` whose entries are multiples of 1/8 in [-2, 2]:
// exact in BF16, and dot products of them are exact in float, so HARD
// rankings (and their ties) do not depend on summation order.
inline Tensor QuantizedTensor(std::vector<int64_t> shape,
                              std::mt19937_64& rng) {
  Tensor t(DType::kFP32, std::move(shape));
  std::uniform_int_distribution<int> eighths(-16, 16);
  for (int64_t i = 0; i < t.num_elements(); ++i)
    t.data<float>()[i] = eighths(rng) / 8.0f;
  return t;
}

inline AttentionInputs MakeInputs(Tensor q, Tensor k, Tensor v) {
  AttentionInputs in;
  in.query = std::move(q);
  in.key = std::move(k);
  in.value = std::move(v);
  return in;
}

// Largest |a - b| - rtol * |b| over all elements (<= atol means close).
inline double MaxExcess(const Tensor& a, const Tensor& b, double rtol) {
  double worst = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    const double x = a.GetFloat(i), y = b.GetFloat(i);
    const double excess = std::abs(x - y) - rtol * std::abs(y);
    if (!(excess <= worst)) worst = std::isnan(excess) ? INFINITY : excess;
  }
  return worst;
}

}  // namespace attnserve::core::attention_test

#endif  // ATTNSERVE_TESTS_CORE_ATTENTION_ATTENTION_TEST_UTIL_H_
