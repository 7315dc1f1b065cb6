// exp over its whole input range (AVX-512 and portable versions). The row
// kernels against scalar references over shapes that hit every vector tail:
// the op table, ops_test.cc.
#include "core/kernels/vector_math.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

class VectorMathTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { ForcePortableVectorMathForTesting(GetParam()); }
  void TearDown() override { ForcePortableVectorMathForTesting(false); }
};

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

INSTANTIATE_TEST_SUITE_P(Isa, VectorMathTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Portable" : "Dispatched";
                         });

}  // namespace
}  // namespace attnserve::core
