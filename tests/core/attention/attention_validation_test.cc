// ValidateAttention / Attend: every bad field is INVALID_ARGUMENT with a
// message that names the field; good edge cases are accepted.
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <utility>

#include "core/attention/attention.h"
#include "core/attention/attention_list.h"
#include "core/attention/validate_attention.h"
#include "gtest/gtest.h"
#include "tests/core/attention/attention_test_util.h"

namespace attnserve::core {
namespace {

using attention_test::MakeInputs;
using attention_test::RandomTensor;

constexpr float kInf = std::numeric_limits<float>::infinity();

// B=2, H=3, Sq=4, Sk=5, D=8, Dv=6.
AttentionInputs GoodInputs() {
  std::mt19937_64 rng(7);
  return MakeInputs(RandomTensor({2, 3, 4, 8}, rng),
                    RandomTensor({2, 3, 5, 8}, rng),
                    RandomTensor({2, 3, 5, 6}, rng));
}

struct BadCase {
  std::string name;
  std::function<void(AttentionSpec&, AttentionInputs&)> mutate;
  std::vector<std::string> message_parts;  // each must appear in the message
};

std::vector<BadCase> BadCases() {
  using Scope = AttentionSpec::Scope;
  using Weighting = AttentionSpec::Weighting;
  std::mt19937_64 rng(11);
  return {
      {"missing query",
       [](AttentionSpec&, AttentionInputs& in) { in.query = Tensor(); },
       {"query", "missing"}},
      {"query rank 3",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.query = RandomTensor({2, 4, 8}, rng);
       },
       {"query.shape", "rank 4"}},
      {"key rank 5",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.key = RandomTensor({1, 2, 3, 5, 8}, rng);
       },
       {"key.shape", "rank 4"}},
      {"empty query",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.query = Tensor(DType::kFP32, {2, 3, 0, 8});
       },
       {"query.shape[2]", "is 0"}},
      {"empty value",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.value = Tensor(DType::kFP32, {2, 3, 5, 0});
       },
       {"value.shape[3]", "is 0"}},
      {"key dtype",
       [](AttentionSpec&, AttentionInputs& in) {
         in.key = in.key.To(DType::kBF16);
       },
       {"key.dtype", "BF16", "query.dtype"}},
      {"value dtype",
       [](AttentionSpec&, AttentionInputs& in) {
         in.value = in.value.To(DType::kBF16);
       },
       {"value.dtype"}},
      {"head_dim mismatch",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.key = RandomTensor({2, 3, 5, 4}, rng);
       },
       {"query.shape[3] is 8", "key.shape[3] is 4"}},
      {"key batch",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.key = RandomTensor({1, 3, 5, 8}, rng);
       },
       {"key.shape[0] is 1", "query.shape[0] is 2"}},
      {"key heads",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.key = RandomTensor({2, 2, 5, 8}, rng);
       },
       {"key.shape[1] is 2", "query.shape[1] is 3"}},
      {"value k_len",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.value = RandomTensor({2, 3, 4, 6}, rng);
       },
       {"value.shape[2] is 4", "key.shape[2] is 5"}},
      {"value heads",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.value = RandomTensor({2, 1, 5, 6}, rng);
       },
       {"value.shape[1]"}},
      {"mask rank 5",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({1, 2, 3, 4, 5}, rng);
       },
       {"mask.shape", "rank <= 4"}},
      {"mask not broadcastable",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({2, 4, 5}, rng);
       },
       {"mask.shape[0] is 2", "expected 1 or 3"}},
      {"mask k_len",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({4, 4}, rng);
       },
       {"mask.shape[1] is 4", "expected 1 or 5"}},
      {"mask dtype",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({4, 5}, rng).To(DType::kBF16);
       },
       {"mask.dtype"}},
      {"mask NaN",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({4, 5}, rng);
         in.mask.data<float>()[7] = std::nanf("");
       },
       {"mask contains NaN at index 7"}},
      {"mask +inf",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({4, 5}, rng);
         in.mask.data<float>()[3] = kInf;
       },
       {"mask contains +Inf at index 3"}},
      {"query NaN",
       [](AttentionSpec&, AttentionInputs& in) {
         in.query.data<float>()[17] = std::nanf("");
       },
       {"query contains NaN at index 17"}},
      {"key inf",
       [](AttentionSpec&, AttentionInputs& in) {
         in.key.data<float>()[2] = -kInf;
       },
       {"key contains -Inf at index 2"}},
      {"value inf",
       [](AttentionSpec&, AttentionInputs& in) {
         in.value.data<float>()[5] = kInf;
       },
       {"value contains +Inf at index 5"}},
      {"bf16 query NaN",
       [](AttentionSpec&, AttentionInputs& in) {
         in.query.data<float>()[9] = std::nanf("");
         in.query = in.query.To(DType::kBF16);
         in.key = in.key.To(DType::kBF16);
         in.value = in.value.To(DType::kBF16);
       },
       {"query contains NaN at index 9"}},
      {"key_lengths count",
       [](AttentionSpec&, AttentionInputs& in) {
         in.key_lengths = {1, 2, 3};
       },
       {"key_lengths has 3 entries", "expected 0 or 2"}},
      {"key_lengths too long",
       [](AttentionSpec&, AttentionInputs& in) {
         in.key_lengths = {5, 6};
       },
       {"key_lengths[1] is 6", "<= 5"}},
      {"hard top_k 0",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.weighting = Weighting::kHard;
       },
       {"spec.top_k is 0", ">= 1"}},
      {"sample top_k > k_len",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.weighting = Weighting::kHard;
         spec.top_k = 6;
         spec.sample = true;
       },
       {"spec.top_k is 6", "<= k_len"}},
      {"window_left too big",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.scope = Scope::kLocal;
         spec.window_left = 1u << 31;
       },
       {"spec.window_left is 2147483648", "<= 2147483647"}},
      {"window_right too big",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.scope = Scope::kLocal;
         spec.window_right = 0xffffffffu;
       },
       {"spec.window_right"}},
      {"window with global scope",
       [](AttentionSpec& spec, AttentionInputs&) { spec.window_left = 2; },
       {"spec.window_left", "GLOBAL", "set spec.scope to LOCAL"}},
      {"window_right with global scope",
       [](AttentionSpec& spec, AttentionInputs&) { spec.window_right = 2; },
       {"spec.window_right", "LOCAL"}},
      {"globals with global scope",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.global_positions = {1};
       },
       {"spec.global_positions", "LOCAL"}},
      {"sigma with global scope",
       [](AttentionSpec& spec, AttentionInputs&) { spec.gaussian_sigma = 2; },
       {"spec.gaussian_sigma", "LOCAL"}},
      {"global position out of range",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.scope = Scope::kLocal;
         spec.global_positions = {0, 4, 5};
       },
       {"spec.global_positions[2] is 5", "< 5"}},
      {"negative sigma",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.scope = Scope::kLocal;
         spec.gaussian_sigma = -1;
       },
       {"spec.gaussian_sigma is -1", ">= 0"}},
      {"NaN sigma",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.scope = Scope::kLocal;
         spec.gaussian_sigma = std::nanf("");
       },
       {"spec.gaussian_sigma", "finite"}},
      {"inf scale",
       [](AttentionSpec& spec, AttentionInputs&) { spec.scale = kInf; },
       {"spec.scale", "finite"}},
      {"NaN scale",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.scale = std::nanf("");
       },
       {"spec.scale", "finite"}},
      // Finite inputs whose scores or value sums overflow FP32 (found by
      // tests/fuzz/attention_spec_fuzzer and proto_request_fuzzer).
      {"scores overflow",
       [](AttentionSpec&, AttentionInputs& in) {
         in.query.data<float>()[3] = 1e20f;
         in.key.data<float>()[5] = -1e20f;
       },
       {"query and key values are too large", "head_dim 8"}},
      {"huge scale",
       [](AttentionSpec& spec, AttentionInputs&) { spec.scale = -1e38f; },
       {"query and key values are too large", "spec.scale -1e+38"}},
      {"mask near the FP32 limit",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({4, 5}, rng);
         in.mask.data<float>()[0] = 3e38f;
       },
       {"query and key values are too large", "mask included"}},
      {"value sums overflow",
       [](AttentionSpec&, AttentionInputs& in) {
         in.value.data<float>()[0] = 3e37f;
       },
       {"value values are too large", "k_len 5"}},
  };
}

TEST(AttentionValidationTest, EachBadFieldIsInvalidArgumentNamingTheField) {
  for (const BadCase& c : BadCases()) {
    SCOPED_TRACE(c.name);
    AttentionSpec spec;
    AttentionInputs in = GoodInputs();
    c.mutate(spec, in);
    const absl::Status status = ValidateAttention(spec, in);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    for (const std::string& part : c.message_parts) {
      EXPECT_NE(status.message().find(part), std::string::npos)
          << "message \"" << status.message() << "\" lacks \"" << part << "\"";
    }
    AttentionOutputs out;
    EXPECT_EQ(Attend(spec, in, &out).code(),
              absl::StatusCode::kInvalidArgument);
    // Spec and shape errors are caught without the value scan too (the
    // encoder's AttendUncheckedValues); value errors (NaN, Inf, magnitudes
    // that overflow) only by it.
    const bool value_error =
        status.message().find(" contains ") != std::string::npos ||
        status.message().find("too large") != std::string::npos;
    const absl::Status shapes = ValidateAttentionShapes(spec, in);
    if (value_error) {
      EXPECT_TRUE(shapes.ok()) << shapes;
    } else {
      EXPECT_EQ(shapes, status);
      EXPECT_EQ(AttendUncheckedValues(spec, in, &out), status);
    }
  }
}

TEST(AttentionValidationTest, AcceptsEdgeCases) {
  std::mt19937_64 rng(3);
  struct GoodCase {
    std::string name;
    std::function<void(AttentionSpec&, AttentionInputs&)> mutate;
  };
  const std::vector<GoodCase> cases = {
      {"plain", [](AttentionSpec&, AttentionInputs&) {}},
      {"window larger than the sequence",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.scope = AttentionSpec::Scope::kLocal;
         spec.window_left = spec.window_right = 2147483647u;
       }},
      {"mask with -inf (how users mask)",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({1, 5}, rng);
         in.mask.data<float>()[1] = -kInf;
       }},
      {"scalar mask",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({}, rng);
       }},
      {"full mask",
       [&](AttentionSpec&, AttentionInputs& in) {
         in.mask = RandomTensor({2, 3, 4, 5}, rng);
       }},
      {"key_lengths 0 and full",
       [](AttentionSpec&, AttentionInputs& in) {
         in.key_lengths = {0, 5};
       }},
      {"hard top_k > k_len without sampling",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.weighting = AttentionSpec::Weighting::kHard;
         spec.top_k = 100;
       }},
      {"sample top_k == k_len",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.weighting = AttentionSpec::Weighting::kHard;
         spec.top_k = 5;
         spec.sample = true;
       }},
      {"local with globals and sigma",
       [](AttentionSpec& spec, AttentionInputs&) {
         spec.scope = AttentionSpec::Scope::kLocal;
         spec.global_positions = {0, 4};
         spec.gaussian_sigma = 1.5f;
       }},
      {"negative scale",
       [](AttentionSpec& spec, AttentionInputs&) { spec.scale = -0.5f; }},
      {"bf16 inputs",
       [](AttentionSpec&, AttentionInputs& in) {
         in.query = in.query.To(DType::kBF16);
         in.key = in.key.To(DType::kBF16);
         in.value = in.value.To(DType::kBF16);
       }},
  };
  for (const GoodCase& c : cases) {
    SCOPED_TRACE(c.name);
    AttentionSpec spec;
    AttentionInputs in = GoodInputs();
    c.mutate(spec, in);
    EXPECT_TRUE(ValidateAttention(spec, in).ok())
        << ValidateAttention(spec, in);
    AttentionOutputs out;
    ASSERT_TRUE(Attend(spec, in, &out).ok());
    EXPECT_EQ(out.output.shape(), absl::Span<const int64_t>({2, 3, 4, 6}));
  }
}

// Large but accepted scores (~1e16) and a sigma so small that 1/(2 sigma^2)
// is Inf: every implementation gives finite outputs and weights equal to the
// reference's (cases found by the fuzzers: the dense softmax's FMA kept the
// rounding error of scale * max, and Inf * 0 made NaN).
TEST(AttentionValidationTest, ExtremeButValidInputsGiveFiniteResults) {
  const float big[4] = {1e-30f, 1e-20f, -1e8f, 1e8f};
  AttentionInputs large;
  large.query = Tensor::FromFloats({1, 1, 2, 2}, big);
  large.key = large.query;
  large.value = large.query;
  large.return_weights = true;
  AttentionSpec large_spec;

  AttentionInputs tiny_sigma = GoodInputs();
  tiny_sigma.return_weights = true;
  AttentionSpec tiny_sigma_spec;
  tiny_sigma_spec.scope = AttentionSpec::Scope::kLocal;
  tiny_sigma_spec.window_left = tiny_sigma_spec.window_right = 2;
  tiny_sigma_spec.gaussian_sigma = 1e-30f;

  for (const auto& [spec, in] :
       {std::pair(large_spec, large), std::pair(tiny_sigma_spec, tiny_sigma)}) {
    ASSERT_TRUE(ValidateAttention(spec, in).ok())
        << ValidateAttention(spec, in);
    AttentionOutputs reference;
    ASSERT_TRUE(
        RunAttention(ReferenceAttentionImplementation(), spec, in, &reference)
            .ok());
    for (const AttentionImplementation* impl : AttentionImplementations()) {
      if (!impl->Supports(spec, in)) continue;
      SCOPED_TRACE(impl->name());
      AttentionOutputs out;
      ASSERT_TRUE(RunAttention(*impl, spec, in, &out).ok());
      for (int64_t i = 0; i < out.weights.num_elements(); ++i) {
        ASSERT_TRUE(std::isfinite(out.weights.GetFloat(i))) << i;
        EXPECT_NEAR(out.weights.GetFloat(i), reference.weights.GetFloat(i),
                    1e-6)
            << i;
      }
      for (int64_t i = 0; i < out.output.num_elements(); ++i) {
        ASSERT_TRUE(std::isfinite(out.output.GetFloat(i))) << i;
        EXPECT_NEAR(out.output.GetFloat(i), reference.output.GetFloat(i),
                    1e-5 * (1 + std::fabs(reference.output.GetFloat(i))))
            << i;
      }
    }
  }
}

}  // namespace
}  // namespace attnserve::core
