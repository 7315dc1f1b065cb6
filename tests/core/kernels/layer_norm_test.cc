#include "core/kernels/layer_norm.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

// AddLayerNorm against a float64 loop, for widths around the vector length,
// with and without residual, in place and with a BF16 copy.
TEST(LayerNormTest, MatchesFloat64Reference) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.5f, 2.0f);
  for (int64_t width : {1, 7, 15, 16, 17, 32, 33, 384, 768}) {
    for (bool with_residual : {false, true}) {
      const int64_t rows = 5;
      std::vector<float> a(rows * width), residual(rows * width), gamma(width),
          beta(width);
      for (float& v : a) v = normal(rng);
      for (float& v : residual) v = normal(rng);
      for (float& v : gamma) v = normal(rng);
      for (float& v : beta) v = normal(rng);
      std::vector<float> out(rows * width);
      std::vector<BF16> out_bf16(rows * width);
      AddLayerNorm(a.data(), with_residual ? residual.data() : nullptr,
                   gamma.data(), beta.data(), 1e-5f, rows, width, out.data(),
                   out_bf16.data());
      // In place: the result overwrites a.
      std::vector<float> in_place = a;
      AddLayerNorm(in_place.data(), with_residual ? residual.data() : nullptr,
                   gamma.data(), beta.data(), 1e-5f, rows, width,
                   in_place.data(), nullptr);
      for (int64_t r = 0; r < rows; ++r) {
        double mean = 0, variance = 0;
        std::vector<double> s(width);
        for (int64_t i = 0; i < width; ++i) {
          s[i] = double(a[r * width + i]) +
                 (with_residual ? residual[r * width + i] : 0.0);
          mean += s[i];
        }
        mean /= width;
        for (int64_t i = 0; i < width; ++i)
          variance += (s[i] - mean) * (s[i] - mean);
        variance /= width;
        for (int64_t i = 0; i < width; ++i) {
          const double want =
              (s[i] - mean) / std::sqrt(variance + 1e-5) * gamma[i] + beta[i];
          const float got = out[r * width + i];
          EXPECT_NEAR(got, want, 1e-5 * (1 + std::fabs(want)))
              << "width " << width << " row " << r << " i " << i;
          EXPECT_EQ(in_place[r * width + i], got);
          EXPECT_EQ(out_bf16[r * width + i].bits, FloatToBF16(got).bits);
        }
      }
    }
  }
}

// Without beta (LayerNorm(bias=False)) the result equals the one with a zero
// beta.
TEST(LayerNormTest, NullBetaEqualsZeroBeta) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.5f, 2.0f);
  for (int64_t width : {1, 17, 768}) {
    const int64_t rows = 3;
    std::vector<float> a(rows * width), gamma(width), zeros(width, 0.0f);
    for (float& v : a) v = normal(rng);
    for (float& v : gamma) v = normal(rng);
    std::vector<float> with_zeros(rows * width), without(rows * width);
    AddLayerNorm(a.data(), nullptr, gamma.data(), zeros.data(), 1e-5f, rows,
                 width, with_zeros.data(), nullptr);
    AddLayerNorm(a.data(), nullptr, gamma.data(), nullptr, 1e-5f, rows, width,
                 without.data(), nullptr);
    EXPECT_EQ(without, with_zeros) << "width " << width;
  }
}

}  // namespace
}  // namespace attnserve::core
