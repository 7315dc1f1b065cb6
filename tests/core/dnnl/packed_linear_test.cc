#include "core/dnnl/packed_linear.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

// PackedLinear in FP32, with and without bias, for each activation, against
// a float64 loop: y = act(x W^T + b).
TEST(PackedLinearTest, MatchesFloat64Reference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rows = 5, in = 48, out = 40;
  Tensor weight(DType::kFP32, {out, in}), bias(DType::kFP32, {out});
  for (int64_t i = 0; i < weight.num_elements(); ++i)
    weight.data<float>()[i] = 0.2f * normal(rng);
  for (int64_t i = 0; i < out; ++i) bias.data<float>()[i] = normal(rng);
  std::vector<float> x(PaddedRows(rows) * in, 0.0f);
  for (int64_t i = 0; i < rows * in; ++i) x[i] = normal(rng);

  for (bool with_bias : {true, false}) {
    absl::StatusOr<PackedLinear> linear =
        PackedLinear::Create(weight, with_bias ? bias : Tensor());
    ASSERT_TRUE(linear.ok()) << linear.status();
    EXPECT_EQ(linear->in_features(), in);
    EXPECT_EQ(linear->out_features(), out);
    for (LinearActivation activation :
         {LinearActivation::kNone, LinearActivation::kGeluErf,
          LinearActivation::kGeluTanh, LinearActivation::kSilu}) {
      std::vector<float> y(PaddedRows(rows) * out);
      ASSERT_TRUE(linear
                      ->Apply(DType::kFP32, x.data(), rows, DType::kFP32,
                              y.data(), activation)
                      .ok());
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t o = 0; o < out; ++o) {
          double z = with_bias ? bias.data<float>()[o] : 0.0;
          for (int64_t i = 0; i < in; ++i)
            z += double(x[r * in + i]) * weight.data<float>()[o * in + i];
          double want = z;
          switch (activation) {
            case LinearActivation::kNone:
              break;
            case LinearActivation::kGeluErf:
              want = 0.5 * z * (1 + std::erf(z / std::sqrt(2.0)));
              break;
            case LinearActivation::kGeluTanh:
              want = 0.5 * z *
                     (1 + std::tanh(std::sqrt(2 / M_PI) *
                                    (z + 0.044715 * z * z * z)));
              break;
            case LinearActivation::kSilu:
              want = z / (1 + std::exp(-z));
              break;
          }
          EXPECT_NEAR(y[r * out + o], want, 1e-5 * (1 + std::fabs(want)))
              << "bias " << with_bias << " activation "
              << static_cast<int>(activation) << " row " << r << " out " << o;
        }
      }
    }
  }
}

TEST(PackedLinearTest, RejectsBiasOfWrongLength) {
  Tensor weight = Tensor::Zeros(DType::kFP32, {4, 3});
  Tensor bias = Tensor::Zeros(DType::kFP32, {3});
  EXPECT_EQ(PackedLinear::Create(weight, bias).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace attnserve::core
