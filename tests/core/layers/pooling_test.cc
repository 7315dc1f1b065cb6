#include "core/layers/pooling.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

// Two sequences packed: rows 0..2 and 3..4 of a [5, 2] hidden state.
Tensor Hidden() {
  Tensor hidden = Tensor::Zeros(DType::kFP32, {5, 2});
  const std::vector<float> values = {1, -2, 3, 4, -5, 6, 7, 0, -1, 8};
  for (int i = 0; i < 10; ++i) hidden.data<float>()[i] = values[i];
  return hidden;
}

std::vector<float> Row(const Tensor& t, int64_t r) {
  return {t.data<float>() + r * t.dim(1), t.data<float>() + (r + 1) * t.dim(1)};
}

TEST(PoolTest, EachPoolingOverPackedSequences) {
  const Tensor hidden = Hidden();
  const std::vector<int64_t> offsets = {0, 3, 5};
  const Tensor cls = Pool(hidden, offsets, Pooling::kCls);
  EXPECT_EQ(Row(cls, 0), (std::vector<float>{1, -2}));
  EXPECT_EQ(Row(cls, 1), (std::vector<float>{7, 0}));
  const Tensor mean = Pool(hidden, offsets, Pooling::kMean);
  EXPECT_FLOAT_EQ(Row(mean, 0)[0], (1 + 3 - 5) / 3.0f);
  EXPECT_FLOAT_EQ(Row(mean, 0)[1], (-2 + 4 + 6) / 3.0f);
  EXPECT_EQ(Row(mean, 1), (std::vector<float>{3, 4}));
  const Tensor max = Pool(hidden, offsets, Pooling::kMax);
  EXPECT_EQ(Row(max, 0), (std::vector<float>{3, 6}));
  EXPECT_EQ(Row(max, 1), (std::vector<float>{7, 8}));
  const Tensor last = Pool(hidden, offsets, Pooling::kLast);
  EXPECT_EQ(Row(last, 0), (std::vector<float>{-5, 6}));
  EXPECT_EQ(Row(last, 1), (std::vector<float>{-1, 8}));
}

TEST(PoolTest, NamesEveryPooling) {
  EXPECT_EQ(PoolingName(Pooling::kCls), "CLS");
  EXPECT_EQ(PoolingName(Pooling::kMean), "MEAN");
  EXPECT_EQ(PoolingName(Pooling::kMax), "MAX");
  EXPECT_EQ(PoolingName(Pooling::kLast), "LAST");
}

}  // namespace
}  // namespace attnserve::core
