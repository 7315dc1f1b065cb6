// Randomized differential test (ggml test-backend-ops style): one table of
// random specs and shapes, every fast implementation that supports a case,
// one comparison against the reference implementation.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/attention/attention.h"
#include "core/attention/attention_list.h"
#include "core/attention/fused_attention.h"
#include "core/attention/validate_attention.h"
#include "core/kernels/vector_math.h"
#include "gtest/gtest.h"
#include "tests/core/attention/attention_test_util.h"

namespace attnserve::core {
namespace {

using attention_test::MaxExcess;
using Scope = AttentionSpec::Scope;
using Weighting = AttentionSpec::Weighting;

constexpr int kCases = 1500;

// AttentionImplementations(), plus the fused kernel on every case it can
// compute: in the list it only takes the shapes where it is faster.
const std::vector<const AttentionImplementation*>& TestedImplementations() {
  static const auto* tested = [] {
    auto* list = new std::vector<const AttentionImplementation*>(
        AttentionImplementations());
    list->push_back(new FusedAttention(FusedAttention::Coverage::kEverywhere));
    return list;
  }();
  return *tested;
}

// The fused kernel needs AVX-512 (its Supports() is false elsewhere).
bool RunsOnThisCpu(const AttentionImplementation& impl) {
  return dynamic_cast<const FusedAttention*>(&impl) == nullptr ||
         FusedAttention::CpuSupports(DType::kFP32);
}

struct RandomCase {
  std::string description;
  AttentionSpec spec;
  AttentionInputs in;
};

template <class T>
T Pick(std::mt19937_64& rng, std::initializer_list<T> options) {
  std::uniform_int_distribution<size_t> index(0, options.size() - 1);
  return *(options.begin() + index(rng));
}

bool Chance(std::mt19937_64& rng, double p) {
  return std::bernoulli_distribution(p)(rng);
}

// HARD cases use quantised inputs, power-of-two scales and sigmas: every
// logit is exact in float, so rankings (and ties) cannot depend on rounding.
RandomCase MakeCase(std::mt19937_64& rng) {
  RandomCase c;
  AttentionSpec& spec = c.spec;
  const bool hard = Chance(rng, 0.4);
  const int64_t batch = Pick<int64_t>(rng, {1, 2, 3});
  const int64_t heads = Pick<int64_t>(rng, {1, 2, 3});
  const int64_t q_len = Pick<int64_t>(rng, {1, 3, 5, 17, 33, 64, 65, 70});
  const bool self = Chance(rng, 0.1);
  const int64_t k_len =
      self ? q_len : Pick<int64_t>(rng, {1, 3, 17, 33, 40, 100});
  const int64_t head_dim = Pick<int64_t>(rng, {8, 24, 64, 80});
  const int64_t v_dim =
      self ? head_dim : Pick<int64_t>(rng, {5, 8, 24, 64, 80});
  auto tensor = [&](std::vector<int64_t> shape) {
    return hard ? attention_test::QuantizedTensor(std::move(shape), rng)
                : attention_test::RandomTensor(std::move(shape), rng);
  };
  c.in.query = tensor({batch, heads, q_len, head_dim});
  c.in.key = self ? c.in.query : tensor({batch, heads, k_len, head_dim});
  c.in.value = self ? c.in.query : tensor({batch, heads, k_len, v_dim});

  if (hard) {
    spec.weighting = Weighting::kHard;
    spec.sample = Chance(rng, 0.3);
    spec.seed = rng();
    const int64_t max_k = spec.sample ? k_len : k_len + 2;
    spec.top_k = std::uniform_int_distribution<uint32_t>(1, max_k)(rng);
    spec.scale = Pick<float>(rng, {0.125f, 0.25f, 0.5f, 1.0f});
  } else if (Chance(rng, 0.5)) {
    spec.scale = std::uniform_real_distribution<float>(0.05f, 0.5f)(rng);
  }
  spec.causal = Chance(rng, 0.5);
  if (Chance(rng, 0.5)) {
    spec.scope = Scope::kLocal;
    auto window = [&] {
      return Chance(rng, 0.1)
                 ? 2147483647u
                 : std::uniform_int_distribution<uint32_t>(0, k_len + 1)(rng);
    };
    spec.window_left = window();
    spec.window_right = window();
    const int globals = std::uniform_int_distribution<int>(0, 3)(rng);
    for (int g = 0; g < globals; ++g) {
      spec.global_positions.push_back(
          std::uniform_int_distribution<uint32_t>(0, k_len - 1)(rng));
    }
    if (Chance(rng, 0.4)) {
      spec.gaussian_sigma =
          hard ? Pick<float>(rng, {0.5f, 1.0f, 2.0f, 4.0f})
               : std::uniform_real_distribution<float>(0.3f, 10.0f)(rng);
    }
  }
  if (Chance(rng, 0.3)) {
    for (int64_t b = 0; b < batch; ++b) {
      c.in.key_lengths.push_back(
          std::uniform_int_distribution<uint32_t>(0, k_len)(rng));
    }
  }
  if (Chance(rng, 0.4)) {
    const std::vector<int64_t> full = {batch, heads, q_len, k_len};
    const int rank = std::uniform_int_distribution<int>(0, 4)(rng);
    std::vector<int64_t> shape;
    for (int d = 4 - rank; d < 4; ++d)
      shape.push_back(Chance(rng, 0.6) ? full[d] : 1);
    c.in.mask = tensor(shape);
    for (int64_t e = 0; e < c.in.mask.num_elements(); ++e) {
      if (Chance(rng, 0.1))
        c.in.mask.data<float>()[e] = -std::numeric_limits<float>::infinity();
    }
  }
  if (Chance(rng, 0.2)) {
    c.in.compute_dtype = DType::kBF16;
    if (Chance(rng, 0.5)) {
      c.in.query = c.in.query.To(DType::kBF16);
      c.in.key = c.in.key.To(DType::kBF16);
      c.in.value = c.in.value.To(DType::kBF16);
    }
  }
  c.in.return_weights = Chance(rng, 0.5);

  std::vector<std::string> shape_parts;
  c.description = absl::StrCat(
      hard ? (spec.sample ? "HARD-sample" : "HARD") : "SOFT",
      " top_k=", spec.top_k, spec.scope == Scope::kLocal ? " LOCAL" : " GLOBAL",
      " wl=", spec.window_left, " wr=", spec.window_right,
      " globals=", absl::StrJoin(spec.global_positions, ","),
      " sigma=", spec.gaussian_sigma, " causal=", spec.causal,
      " scale=", spec.scale, " B=", batch, " H=", heads, " Sq=", q_len,
      " Sk=", k_len, " D=", head_dim, " Dv=", v_dim,
      " mask_rank=", c.in.mask.empty() ? -1 : c.in.mask.rank(),
      " key_lengths=", absl::StrJoin(c.in.key_lengths, ","),
      " bf16=", c.in.compute_dtype == DType::kBF16);
  return c;
}

// Runs `cases` random cases through every fast implementation and the
// reference; counts in `runs` how often each implementation ran.
void CompareWithReference(uint64_t seed, int cases,
                          std::map<std::string, int>* runs) {
  std::mt19937_64 rng(seed);
  for (int n = 0; n < cases; ++n) {
    const RandomCase c = MakeCase(rng);
    SCOPED_TRACE(absl::StrCat("case ", n, ": ", c.description));
    ASSERT_TRUE(ValidateAttention(c.spec, c.in).ok())
        << ValidateAttention(c.spec, c.in);
    AttentionOutputs expected;
    ASSERT_TRUE(RunAttention(ReferenceAttentionImplementation(), c.spec, c.in,
                             &expected)
                    .ok());
    // BF16 compute: the oneDNN path also rounds the probabilities to BF16.
    const double tol = c.in.compute_dtype == DType::kBF16 ? 3e-2 : 1e-5;
    for (const AttentionImplementation* impl : TestedImplementations()) {
      if (impl == &ReferenceAttentionImplementation() ||
          !impl->Supports(c.spec, c.in))
        continue;
      SCOPED_TRACE(std::string(impl->name()));
      AttentionOutputs out;
      ASSERT_TRUE(RunAttention(*impl, c.spec, c.in, &out).ok());
      ++(*runs)[std::string(impl->name())];
      ASSERT_EQ(out.output.shape(), expected.output.shape());
      ASSERT_LE(MaxExcess(out.output, expected.output, tol), tol) << "output";
      if (c.in.return_weights) {
        ASSERT_EQ(out.weights.shape(), expected.weights.shape());
        ASSERT_LE(MaxExcess(out.weights, expected.weights, tol), tol)
            << "weights";
      }
    }
  }
}

TEST(AttentionDifferentialTest, FastImplementationsMatchTheReference) {
  std::map<std::string, int> runs;
  CompareWithReference(20261127, kCases, &runs);
  for (const AttentionImplementation* impl : TestedImplementations()) {
    if (impl == &ReferenceAttentionImplementation() || !RunsOnThisCpu(*impl))
      continue;
    // The rarest: SOFT (0.6) x GLOBAL (0.5) x no weights (0.5) for the fused
    // kernel, 15% of the cases.
    EXPECT_GE(runs[std::string(impl->name())], kCases / 10) << impl->name();
  }
}

// Shapes large enough that the oneDNN path splits a head's query rows into
// blocks (more than 1 MiB of scores per head).
TEST(AttentionDifferentialTest, LargeHeadsMatchTheReference) {
  std::mt19937_64 rng(3);
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE(variant);
    AttentionSpec spec;
    spec.causal = variant % 2 == 1;
    AttentionInputs in;
    in.query = attention_test::RandomTensor({1, 2, 700, 16}, rng);
    in.key = attention_test::RandomTensor({1, 2, 650, 16}, rng);
    in.value = attention_test::RandomTensor({1, 2, 650, 8}, rng);
    in.key_lengths = {600};
    in.mask = attention_test::RandomTensor({700, 650}, rng);
    in.mask.data<float>()[3 * 650 + 5] =
        -std::numeric_limits<float>::infinity();
    in.return_weights = variant >= 2;
    in.compute_dtype = variant == 3 ? DType::kBF16 : DType::kFP32;
    const double tol = variant == 3 ? 3e-2 : 1e-5;
    AttentionOutputs expected, out;
    ASSERT_TRUE(
        RunAttention(ReferenceAttentionImplementation(), spec, in, &expected)
            .ok());
    ASSERT_TRUE(Attend(spec, in, &out).ok());
    EXPECT_LE(MaxExcess(out.output, expected.output, tol), tol);
    if (in.return_weights) {
      EXPECT_LE(MaxExcess(out.weights, expected.weights, tol), tol);
    }
  }
}

// The same with the portable (non-AVX-512) row kernels.
TEST(AttentionDifferentialTest, PortableKernelsMatchTheReference) {
  ForcePortableVectorMathForTesting(true);
  std::map<std::string, int> runs;
  CompareWithReference(7, kCases / 5, &runs);
  ForcePortableVectorMathForTesting(false);
}

}  // namespace
}  // namespace attnserve::core
