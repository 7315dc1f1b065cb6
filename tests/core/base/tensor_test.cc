#include "core/base/tensor.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

TEST(TensorTest, BF16RoundTripRoundsToNearestEven) {
  EXPECT_EQ(FloatToBF16(1.0f).bits, 0x3f80);
  // 1 + 2^-8 is exactly halfway between two bf16 values: rounds to even (1.0).
  EXPECT_EQ(FloatToBF16(1.00390625f).bits, 0x3f80);
  // 1 + 3*2^-8 is halfway too: rounds up to the even neighbour.
  EXPECT_EQ(FloatToBF16(1.01171875f).bits, 0x3f82);
  EXPECT_TRUE(std::isnan(BF16ToFloat(FloatToBF16(std::nanf("")))));
  EXPECT_EQ(BF16ToFloat(FloatToBF16(-2.5f)), -2.5f);
}

TEST(TensorTest, HalfToFloat) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
}

TEST(TensorTest, NumElementsRejectsOverflowAndNegative) {
  EXPECT_EQ(*Tensor::NumElements({2, 3, 4}, "query.shape", 1000), 24);
  EXPECT_EQ(*Tensor::NumElements({2, 0, 4}, "query.shape", 1000), 0);
  auto neg = Tensor::NumElements({2, -1}, "query.shape", 1000);
  EXPECT_EQ(neg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(neg.status().message().find("query.shape[1]"), std::string::npos);
  auto big =
      Tensor::NumElements({int64_t{1} << 40, int64_t{1} << 40}, "key.shape",
                          std::numeric_limits<int64_t>::max());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorTest, ViewAliasesItsOwnersMemoryAndKeepsItAlive) {
  auto floats = std::make_shared<std::vector<float>>(16, 0.0f);
  Tensor view = Tensor::View(DType::kFP32, {2, 3}, floats, floats->data() + 8);
  EXPECT_EQ(view.num_elements(), 6);
  EXPECT_EQ(view.num_bytes(), 24u);
  view.data<float>()[0] = 5.0f;
  EXPECT_EQ((*floats)[8], 5.0f);
  std::weak_ptr<std::vector<float>> weak = floats;
  floats.reset();
  EXPECT_FALSE(weak.expired());
  view = Tensor();
  EXPECT_TRUE(weak.expired());
}

TEST(TensorTest, ConvertsBetweenDtypes) {
  Tensor t = Tensor::FromFloats({2, 2}, {1.0f, -0.5f, 3.0f, 0.25f});
  Tensor b = t.To(DType::kBF16);
  EXPECT_EQ(b.dtype(), DType::kBF16);
  Tensor back = b.To(DType::kFP32);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(back.data<float>()[i], t.data<float>()[i]);
  Tensor view = t.Reshape({4});
  EXPECT_EQ(view.data<float>(), t.data<float>());
  EXPECT_EQ(view.rank(), 1);
}

}  // namespace
}  // namespace attnserve::core
