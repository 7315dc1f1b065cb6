// Properties every attention implementation must have, whatever its numbers:
// HARD with top_k >= k_len is SOFT, a covering LOCAL window is GLOBAL, weight
// rows sum to 1 or are all 0, masked rows are 0 (never NaN), batch items do
// not influence each other, and sampled HARD draws from the soft distribution.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>

#include "core/attention/attention.h"
#include "core/attention/attention_list.h"
#include "core/attention/validate_attention.h"
#include "gtest/gtest.h"
#include "tests/core/attention/attention_test_util.h"

namespace attnserve::core {
namespace {

using attention_test::MakeInputs;
using attention_test::MaxExcess;
using attention_test::QuantizedTensor;
using attention_test::RandomTensor;
using Scope = AttentionSpec::Scope;
using Weighting = AttentionSpec::Weighting;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Runs Attend and every implementation that supports the case; calls
// check(name, outputs) for each.
void ForEachImplementation(
    const AttentionSpec& spec, const AttentionInputs& in,
    const std::function<void(const std::string&, const AttentionOutputs&)>&
        check) {
  ASSERT_TRUE(ValidateAttention(spec, in).ok()) << ValidateAttention(spec, in);
  AttentionOutputs out;
  ASSERT_TRUE(Attend(spec, in, &out).ok());
  check("Attend", out);
  for (const AttentionImplementation* impl : AttentionImplementations()) {
    if (!impl->Supports(spec, in)) continue;
    AttentionOutputs impl_out;
    ASSERT_TRUE(RunAttention(*impl, spec, in, &impl_out).ok());
    check(std::string(impl->name()), impl_out);
  }
}

AttentionOutputs AttendOrDie(const AttentionSpec& spec,
                             const AttentionInputs& in) {
  AttentionOutputs out;
  const absl::Status status = Attend(spec, in, &out);
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

// B=2, H=2, Sq=9, Sk=13, D=16, Dv=8 with some masked and padded keys.
AttentionInputs MixedInputs(std::mt19937_64& rng, bool quantized) {
  auto make = [&](std::vector<int64_t> shape) {
    return quantized ? QuantizedTensor(std::move(shape), rng)
                     : RandomTensor(std::move(shape), rng);
  };
  AttentionInputs in = MakeInputs(make({2, 2, 9, 16}), make({2, 2, 13, 16}),
                                  make({2, 2, 13, 8}));
  in.mask = make({2, 1, 9, 13});
  in.mask.data<float>()[5] = -kInf;
  in.mask.data<float>()[13 * 9 + 20] = -kInf;
  in.key_lengths = {13, 10};
  in.return_weights = true;
  return in;
}

TEST(AttentionInvariantsTest, HardWithTopKCoveringAllKeysIsSoft) {
  std::mt19937_64 rng(1);
  for (bool causal : {false, true}) {
    for (Scope scope : {Scope::kGlobal, Scope::kLocal}) {
      SCOPED_TRACE(::testing::Message() << "causal " << causal << " local "
                                        << (scope == Scope::kLocal));
      const AttentionInputs in = MixedInputs(rng, false);
      AttentionSpec soft;
      soft.causal = causal;
      soft.scope = scope;
      if (scope == Scope::kLocal) {
        soft.window_left = 3;
        soft.window_right = 1;
        soft.global_positions = {2};
        soft.gaussian_sigma = 2.5f;
      }
      const AttentionOutputs expected = AttendOrDie(soft, in);
      for (uint32_t top_k : {13u, 14u, 1000u}) {
        AttentionSpec hard = soft;
        hard.weighting = Weighting::kHard;
        hard.top_k = top_k;
        ForEachImplementation(
            hard, in,
            [&](const std::string& name, const AttentionOutputs& out) {
              SCOPED_TRACE(name);
              EXPECT_LE(MaxExcess(out.output, expected.output, 1e-5), 1e-5);
              EXPECT_LE(MaxExcess(out.weights, expected.weights, 1e-5), 1e-5);
            });
      }
    }
  }
}

TEST(AttentionInvariantsTest, LocalWindowCoveringTheSequenceIsGlobal) {
  std::mt19937_64 rng(2);
  for (Weighting weighting : {Weighting::kSoft, Weighting::kHard}) {
    for (bool causal : {false, true}) {
      const AttentionInputs in =
          MixedInputs(rng, weighting == Weighting::kHard);
      AttentionSpec global;
      global.weighting = weighting;
      global.top_k = 3;
      global.causal = causal;
      global.scale = 0.25f;
      const AttentionOutputs expected = AttendOrDie(global, in);
      for (uint32_t window : {13u, 20u, 2147483647u}) {
        AttentionSpec local = global;
        local.scope = Scope::kLocal;
        local.window_left = local.window_right = window;
        ForEachImplementation(
            local, in,
            [&](const std::string& name, const AttentionOutputs& out) {
              SCOPED_TRACE(name);
              EXPECT_LE(MaxExcess(out.output, expected.output, 1e-5), 1e-5);
              EXPECT_LE(MaxExcess(out.weights, expected.weights, 1e-5), 1e-5);
            });
      }
    }
  }
}

// Rows of [.., Sq, Sk] weights: each sums to 1 or is all 0; returns the
// number of all-zero rows.
int CheckWeightRows(const Tensor& weights) {
  const int64_t k_len = weights.dim(3);
  int zero_rows = 0;
  for (int64_t row = 0; row < weights.num_elements() / k_len; ++row) {
    double sum = 0;
    for (int64_t j = 0; j < k_len; ++j) {
      const float w = weights.data<float>()[row * k_len + j];
      EXPECT_TRUE(w >= 0 && w <= 1)
          << "row " << row << " key " << j << ": " << w;
      sum += w;
    }
    if (sum == 0) {
      ++zero_rows;
    } else {
      EXPECT_NEAR(sum, 1.0, 1e-5) << "row " << row;
    }
  }
  return zero_rows;
}

TEST(AttentionInvariantsTest, WeightRowsSumToOneOrAreZero) {
  std::mt19937_64 rng(3);
  std::vector<AttentionSpec> specs(6);
  specs[1].causal = true;
  specs[2].scope = Scope::kLocal;
  specs[2].window_left = 2;
  specs[2].global_positions = {0, 7};
  specs[3] = specs[2];
  specs[3].gaussian_sigma = 1.0f;
  specs[4].weighting = Weighting::kHard;
  specs[4].top_k = 2;
  specs[5] = specs[4];
  specs[5].sample = true;
  specs[5].seed = 99;
  for (DType compute : {DType::kFP32, DType::kBF16}) {
    for (const AttentionSpec& spec : specs) {
      AttentionInputs in = MixedInputs(rng, false);
      in.compute_dtype = compute;
      ForEachImplementation(
          spec, in, [&](const std::string& name, const AttentionOutputs& out) {
            SCOPED_TRACE(name);
            CheckWeightRows(out.weights);
          });
    }
  }
}

TEST(AttentionInvariantsTest, QueriesThatSeeNoKeyGiveZeroNotNaN) {
  std::mt19937_64 rng(4);
  // Batch 0: key_lengths 0. Batch 1: query rows 0 and 2 fully masked by -inf;
  // with causal and q_len > k_len the first query (p = -1) sees nothing too.
  AttentionInputs in = MakeInputs(RandomTensor({2, 3, 5, 8}, rng),
                                  RandomTensor({2, 3, 4, 8}, rng),
                                  RandomTensor({2, 3, 4, 8}, rng));
  in.key_lengths = {0, 4};
  in.mask = Tensor::Zeros(DType::kFP32, {2, 1, 5, 4});
  for (int64_t j = 0; j < 4; ++j) {
    in.mask.data<float>()[(5 + 0) * 4 + j] = -kInf;
    in.mask.data<float>()[(5 + 2) * 4 + j] = -kInf;
  }
  in.return_weights = true;
  for (DType compute : {DType::kFP32, DType::kBF16}) {
    in.compute_dtype = compute;
    for (int variant = 0; variant < 4; ++variant) {
      AttentionSpec spec;
      spec.causal = true;
      if (variant == 1) spec.scope = Scope::kLocal;
      if (variant >= 2) {
        spec.weighting = Weighting::kHard;
        spec.top_k = 2;
        spec.sample = variant == 3;
      }
      ForEachImplementation(
          spec, in, [&](const std::string& name, const AttentionOutputs& out) {
            SCOPED_TRACE(name + " variant " + std::to_string(variant));
            EXPECT_EQ(CheckWeightRows(out.weights), 3 * 5 + 3 * 2);
            for (int64_t b = 0; b < 2; ++b) {
              for (int64_t h = 0; h < 3; ++h) {
                for (int64_t i = 0; i < 5; ++i) {
                  const bool sees_nothing = b == 0 || i == 0 || i == 2;
                  for (int64_t d = 0; d < 8; ++d) {
                    const float o =
                        out.output.data<float>()[((b * 3 + h) * 5 + i) * 8 + d];
                    EXPECT_FALSE(std::isnan(o));
                    if (sees_nothing) {
                      EXPECT_EQ(o, 0.0f) << b << " " << h << " " << i;
                    }
                  }
                }
              }
            }
          });
    }
  }
}

TEST(AttentionInvariantsTest, BatchItemsDoNotInfluenceEachOther) {
  std::mt19937_64 rng(5);
  const AttentionInputs in = MixedInputs(rng, true);
  AttentionInputs first = in;
  auto slice = [](const Tensor& t) {
    std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
    shape[0] = 1;
    Tensor s(t.dtype(), shape);
    std::memcpy(s.raw_data(), t.raw_data(), s.num_bytes());
    return s;
  };
  first.query = slice(in.query);
  first.key = slice(in.key);
  first.value = slice(in.value);
  first.mask = slice(in.mask);
  first.key_lengths = {in.key_lengths[0]};
  std::vector<AttentionSpec> specs(4);
  specs[1].scope = Scope::kLocal;
  specs[1].window_right = 2;
  specs[2].weighting = Weighting::kHard;
  specs[2].top_k = 4;
  specs[3] = specs[2];
  specs[3].sample = true;
  for (const AttentionSpec& spec : specs) {
    const AttentionOutputs alone = AttendOrDie(spec, first);
    ForEachImplementation(
        spec, in, [&](const std::string& name, const AttentionOutputs& out) {
          SCOPED_TRACE(name);
          EXPECT_LE(MaxExcess(slice(out.output), alone.output, 1e-6), 1e-6);
        });
  }
}

// Calls from several threads at once (as a server's workers make them) give
// what one call alone gives: per-thread scratch and oneDNN streams.
TEST(AttentionInvariantsTest, ConcurrentCallsGiveTheSameResults) {
  std::mt19937_64 rng(8);
  std::vector<AttentionSpec> specs(4);
  specs[1].scope = Scope::kLocal;
  specs[1].window_left = 5;
  specs[2].weighting = Weighting::kHard;
  specs[2].top_k = 3;
  specs[2].sample = true;
  specs[3].causal = true;
  std::vector<AttentionInputs> inputs;
  std::vector<AttentionOutputs> expected;
  for (size_t n = 0; n < specs.size(); ++n) {
    AttentionInputs in = MakeInputs(
        RandomTensor({2, 4, 70 + 9 * int64_t(n), 32}, rng),
        RandomTensor({2, 4, 90, 32}, rng), RandomTensor({2, 4, 90, 16}, rng));
    in.return_weights = n % 2 == 0;
    in.compute_dtype = n == 3 ? DType::kBF16 : DType::kFP32;
    inputs.push_back(in);
    expected.push_back(AttendOrDie(specs[n], in));
  }
  std::vector<double> worst(8, 0.0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int iteration = 0; iteration < 10; ++iteration) {
        const size_t n = (t + iteration) % specs.size();
        AttentionOutputs out;
        if (!Attend(specs[n], inputs[n], &out).ok()) {
          worst[t] = INFINITY;
          return;
        }
        worst[t] =
            std::max(worst[t], MaxExcess(out.output, expected[n].output, 0));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 8; ++t) EXPECT_LE(worst[t], 1e-6) << "thread " << t;
}

// Sampled HARD: each row keeps exactly min(top_k, visible) keys, and the same
// seed gives the same draw (bit for bit from one implementation; the same keys
// from every implementation, since all draw with GumbelNoise).
TEST(AttentionInvariantsTest, SampledHardIsReproducibleAndKeepsTopKKeys) {
  std::mt19937_64 rng(6);
  AttentionInputs in = MixedInputs(rng, false);
  AttentionSpec spec;
  spec.weighting = Weighting::kHard;
  spec.sample = true;
  spec.causal = true;
  spec.top_k = 4;
  spec.seed = 1234;
  const AttentionOutputs first = AttendOrDie(spec, in);
  ForEachImplementation(
      spec, in, [&](const std::string& name, const AttentionOutputs& out) {
        SCOPED_TRACE(name);
        EXPECT_LE(MaxExcess(out.weights, first.weights, 1e-5), 1e-6);
        for (int64_t e = 0; e < out.weights.num_elements(); ++e) {
          ASSERT_EQ(out.weights.data<float>()[e] != 0,
                    first.weights.data<float>()[e] != 0)
              << e;
        }
        AttentionOutputs again;
        ASSERT_TRUE(Attend(spec, in, &again).ok());
        if (name == "Attend") {
          EXPECT_EQ(MaxExcess(again.weights, out.weights, 0), 0);
        }
        for (int64_t b = 0; b < 2; ++b) {
          for (int64_t h = 0; h < 2; ++h) {
            for (int64_t i = 0; i < 9; ++i) {
              const int64_t p = i + 4;
              int visible = 0, nonzero = 0;
              for (int64_t j = 0; j < 13; ++j) {
                const bool masked =
                    in.mask.data<float>()[(b * 9 + i) * 13 + j] == -kInf;
                visible += j <= p && j < in.key_lengths[b] && !masked;
                nonzero +=
                    out.weights.data<float>()[((b * 2 + h) * 9 + i) * 13 + j] !=
                    0;
              }
              EXPECT_EQ(nonzero, std::min(visible, 4))
                  << b << " " << h << " " << i;
            }
          }
        }
      });
  spec.seed = 1235;
  const AttentionOutputs other = AttendOrDie(spec, in);
  EXPECT_GT(MaxExcess(other.weights, first.weights, 0), 0)
      << "another seed, another draw";
}

// Over many seeds, sampled HARD picks keys with the soft probabilities:
// top_k = 1 by a chi-square bound, top_k = 2 by the exact inclusion
// probabilities of sampling without replacement.
TEST(AttentionInvariantsTest, SampledHardFollowsTheSoftDistribution) {
  std::mt19937_64 rng(7);
  constexpr int64_t kKeys = 6;
  AttentionInputs in = MakeInputs(RandomTensor({1, 1, 1, 4}, rng),
                                  RandomTensor({1, 1, kKeys, 4}, rng),
                                  RandomTensor({1, 1, kKeys, 2}, rng));
  in.return_weights = true;
  AttentionSpec soft;
  soft.scale = 0.7f;
  const AttentionOutputs soft_out = AttendOrDie(soft, in);
  std::vector<double> p(kKeys);
  for (int64_t j = 0; j < kKeys; ++j) p[j] = soft_out.weights.data<float>()[j];

  constexpr int kSeeds = 3000;
  for (uint32_t top_k : {1u, 2u}) {
    AttentionSpec spec = soft;
    spec.weighting = Weighting::kHard;
    spec.sample = true;
    spec.top_k = top_k;
    std::vector<double> expected(kKeys);
    for (int64_t j = 0; j < kKeys; ++j) {
      expected[j] = p[j];
      if (top_k == 2) {
        for (int64_t first = 0; first < kKeys; ++first) {
          if (first != j) expected[j] += p[first] * p[j] / (1 - p[first]);
        }
      }
    }
    for (const AttentionImplementation* impl : AttentionImplementations()) {
      if (!impl->Supports(spec, in)) continue;
      SCOPED_TRACE(std::string(impl->name()) + " top_k " +
                   std::to_string(top_k));
      std::vector<int> counts(kKeys, 0);
      for (int seed = 0; seed < kSeeds; ++seed) {
        spec.seed = seed;
        AttentionOutputs out;
        ASSERT_TRUE(RunAttention(*impl, spec, in, &out).ok());
        for (int64_t j = 0; j < kKeys; ++j)
          counts[j] += out.weights.data<float>()[j] != 0;
      }
      // Pearson statistic against the expected counts. Under the right
      // distribution it is about chi-square with kKeys - 1 degrees of freedom
      // (for top_k = 2 the inclusion indicators are dependent, which only
      // shrinks it); 35 is far in the tail (p < 1e-5) yet far below what a
      // uniform or argmax draw gives (hundreds).
      double chi_square = 0;
      for (int64_t j = 0; j < kKeys; ++j) {
        const double e = kSeeds * expected[j];
        chi_square += (counts[j] - e) * (counts[j] - e) / e;
      }
      EXPECT_LT(chi_square, 35.0);
    }
  }
}

}  // namespace
}  // namespace attnserve::core
