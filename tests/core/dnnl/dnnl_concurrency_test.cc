// oneDNN primitives are cached and shared between threads (DnnlContext). Each
// execution must use its own scratchpad: results of concurrent calls equal
// those of a call alone.
#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "core/attention/attention.h"
#include "core/dnnl/packed_linear.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

Tensor RandomTensor(std::vector<int64_t> shape, std::mt19937* rng) {
  Tensor t(DType::kFP32, std::move(shape));
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < t.num_elements(); ++i)
    t.data<float>()[i] = normal(*rng);
  return t;
}

float MaxAbsDiff(const Tensor& a, const Tensor& b) {
  float m = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    m = std::max(m, std::fabs(a.GetFloat(i) - b.GetFloat(i)));
  }
  return m;
}

// Runs `call` on 4 threads, 20 times each, and returns the largest difference
// from `alone` seen.
template <class F>
float WorstConcurrentDiff(const Tensor& alone, F call) {
  std::vector<float> worst(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 20; ++r)
        worst[t] = std::max(worst[t], MaxAbsDiff(call(), alone));
    });
  }
  for (std::thread& t : threads) t.join();
  return *std::max_element(worst.begin(), worst.end());
}

class DnnlConcurrencyTest : public ::testing::TestWithParam<DType> {};

TEST_P(DnnlConcurrencyTest, AttendGivesTheSameResultUnderConcurrency) {
  std::mt19937 rng(2);
  AttentionInputs in;
  in.query = RandomTensor({2, 12, 128, 64}, &rng);
  in.key = RandomTensor({2, 12, 128, 64}, &rng);
  in.value = RandomTensor({2, 12, 128, 64}, &rng);
  in.compute_dtype = GetParam();
  auto run = [&] {
    AttentionOutputs out;
    EXPECT_TRUE(Attend(AttentionSpec(), in, &out).ok());
    return out.output;
  };
  const Tensor alone = run();
  EXPECT_EQ(WorstConcurrentDiff(alone, run), 0.0f);
}

TEST_P(DnnlConcurrencyTest, PackedLinearGivesTheSameResultUnderConcurrency) {
  std::mt19937 rng(3);
  auto linear = PackedLinear::Create(RandomTensor({768, 384}, &rng),
                                     RandomTensor({768}, &rng));
  ASSERT_TRUE(linear.ok()) << linear.status();
  const Tensor x = RandomTensor({PaddedRows(200), 384}, &rng).To(GetParam());
  auto run = [&] {
    Tensor y(DType::kFP32, {PaddedRows(200), 768});
    EXPECT_TRUE(
        linear->Apply(GetParam(), x.raw_data(), 200, DType::kFP32, y.raw_data())
            .ok());
    return y;
  };
  const Tensor alone = run();
  EXPECT_EQ(WorstConcurrentDiff(alone, run), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(ComputeDTypes, DnnlConcurrencyTest,
                         ::testing::Values(DType::kFP32, DType::kBF16));

}  // namespace
}  // namespace attnserve::core
