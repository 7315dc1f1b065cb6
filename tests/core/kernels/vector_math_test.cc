// The row kernels (AVX-512 and portable versions) against plain double loops,
// over lengths that hit every vector tail.
#include "core/kernels/vector_math.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> Random(int64_t n, std::mt19937_64& rng, float sigma = 1.0f) {
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

class VectorMathTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { ForcePortableVectorMathForTesting(GetParam()); }
  void TearDown() override { ForcePortableVectorMathForTesting(false); }
};

const std::vector<int64_t> kLengths = {0,  1,  3,  15, 16,  17,
                                       31, 63, 64, 65, 100, 257};

TEST_P(VectorMathTest, ScaledDotColumns) {
  std::mt19937_64 rng(1);
  for (int64_t head_dim : {1, 8, 24, 80}) {
    for (int64_t n : kLengths) {
      const int64_t ld = n + 5;
      const std::vector<float> q = Random(head_dim, rng),
                               keys_t = Random(head_dim * ld, rng);
      std::vector<float> out(n + 1, 123.0f);
      ScaledDotColumns(q.data(), head_dim, keys_t.data(), ld, n, 0.3f,
                       out.data());
      for (int64_t c = 0; c < n; ++c) {
        double dot = 0;
        for (int64_t d = 0; d < head_dim; ++d)
          dot += double{q[d]} * keys_t[d * ld + c];
        EXPECT_NEAR(out[c], 0.3 * dot, 1e-5 * (1 + std::abs(dot)))
            << n << " " << c;
      }
      EXPECT_EQ(out[n], 123.0f) << "wrote past the end";
    }
  }
}

TEST_P(VectorMathTest, AccumulateWeightedRows) {
  std::mt19937_64 rng(2);
  for (int64_t v_dim : {1, 5, 16, 64, 80, 130}) {
    for (int64_t n : kLengths) {
      const std::vector<float> w = Random(n, rng),
                               rows = Random(n * v_dim, rng);
      std::vector<float> out = Random(v_dim + 1, rng);
      const std::vector<float> before = out;
      AccumulateWeightedRows(w.data(), n, rows.data(), v_dim, out.data());
      for (int64_t d = 0; d < v_dim; ++d) {
        double expected = before[d];
        for (int64_t c = 0; c < n; ++c)
          expected += double{w[c]} * rows[c * v_dim + d];
        EXPECT_NEAR(out[d], expected, 1e-5 * (1 + std::abs(expected)));
      }
      EXPECT_EQ(out[v_dim], before[v_dim]) << "wrote past the end";
    }
  }
}

TEST_P(VectorMathTest, ExpIsAccurateAndUnderflowsToZero) {
  std::vector<float> x;
  for (float v = -110.0f; v <= 10.0f; v += 0.01171875f) x.push_back(v);
  x.push_back(-kInf);
  std::vector<float> e = x;
  const float sum =
      ExpAndSum(e.data(), static_cast<int64_t>(e.size()), 1.0f, 0.0f);
  double expected_sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double expected = std::exp(double{x[i]});
    expected_sum += expected;
    if (x[i] > -87.0f) {
      EXPECT_NEAR(e[i], expected, 4e-7 * expected) << x[i];
    } else {
      EXPECT_LE(e[i], 1e-37f) << x[i];
    }
  }
  EXPECT_EQ(e.back(), 0.0f);
  EXPECT_NEAR(sum, expected_sum, 1e-6 * expected_sum);
}

TEST_P(VectorMathTest, SoftmaxMaxAndBias) {
  std::mt19937_64 rng(3);
  for (int64_t n : kLengths) {
    std::vector<float> x = Random(n, rng, 3.0f);
    for (int64_t j = 0; j < n; j += 7) x[j] = -kInf;
    const std::vector<float> bias = Random(n, rng);
    std::vector<float> y = x;
    const float max = ScaleAndAddBiasMax(y.data(), n, 0.5f, bias.data(), 1);
    float expected_max = -kInf;
    for (int64_t j = 0; j < n; ++j) {
      EXPECT_FLOAT_EQ(y[j], x[j] * 0.5f + bias[j]);
      expected_max = std::max(expected_max, y[j]);
    }
    EXPECT_EQ(max, expected_max);
    EXPECT_EQ(RowMax(y.data(), n), expected_max);
    const bool any = SoftmaxInPlace(y.data(), n);
    EXPECT_EQ(any, expected_max != -kInf);
    double total = 0, denominator = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (x[j] != -kInf)
        denominator += std::exp(double{x[j]} * 0.5 + bias[j] - expected_max);
    }
    for (int64_t j = 0; j < n; ++j) {
      const double expected =
          x[j] == -kInf
              ? 0.0
              : std::exp(double{x[j]} * 0.5 + bias[j] - expected_max) /
                    denominator;
      EXPECT_NEAR(y[j], expected, 1e-6);
      total += y[j];
    }
    if (any) {
      EXPECT_NEAR(total, 1.0, 1e-5);
    }
  }
  std::vector<float> all_masked(20, -kInf);
  EXPECT_FALSE(SoftmaxInPlace(all_masked.data(), 20));
  for (float w : all_masked) EXPECT_EQ(w, 0.0f);
}

TEST_P(VectorMathTest, ScaleAndAddBroadcastBiasAndConvert) {
  std::mt19937_64 rng(4);
  for (int64_t n : kLengths) {
    const std::vector<float> x = Random(n, rng);
    std::vector<float> y = x;
    const float bias = -1.5f;
    ScaleAndAddBias(y.data(), n, 2.0f, &bias, 0);
    for (int64_t j = 0; j < n; ++j) EXPECT_FLOAT_EQ(y[j], 2.0f * x[j] - 1.5f);
    ScaleRow(y.data(), n, 0.25f);
    for (int64_t j = 0; j < n; ++j)
      EXPECT_FLOAT_EQ(y[j], (2.0f * x[j] - 1.5f) * 0.25f);
    std::vector<BF16> e(n + 1, BF16{0x1234});
    const float sum = ExpAndSumToBF16(x.data(), n, 0.5f, 0.25f, e.data());
    double expected_sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double expected = std::exp(0.5 * x[j] - 0.25);
      expected_sum += expected;
      EXPECT_NEAR(BF16ToFloat(e[j]), expected, expected * 0x1p-8);
    }
    EXPECT_NEAR(sum, expected_sum, 1e-5 * (1 + expected_sum));
    EXPECT_EQ(e[n].bits, 0x1234) << "wrote past the end";
    std::vector<BF16> b(n + 1, BF16{0x1234});
    ConvertToBF16(x.data(), b.data(), n);
    for (int64_t j = 0; j < n; ++j)
      EXPECT_EQ(b[j].bits, FloatToBF16(x[j]).bits);
    EXPECT_EQ(b[n].bits, 0x1234) << "wrote past the end";
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, VectorMathTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Portable" : "Dispatched";
                         });

}  // namespace
}  // namespace attnserve::core
