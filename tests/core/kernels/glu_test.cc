#include "core/kernels/glu.h"

#include <cmath>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/kernels/vector_math.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

// One row of the op table: GatedActivation against GatedActivationReference.
struct GluCase {
  int64_t rows, width, extra_in, extra_out;
  GluActivation activation;
  GluActivatedHalf activated;
  bool in_place;
};

std::string Name(const GluCase& c) {
  const char* act[] = {"gelu", "gelu_tanh", "silu"};
  return absl::StrCat(
      "rows", c.rows, "_w", c.width, "_ldin_plus", c.extra_in, "_ldout_plus",
      c.extra_out, "_", act[int(c.activation)],
      c.activated == GluActivatedHalf::kFirst ? "_first" : "_second",
      c.in_place ? "_inplace" : "");
}

void PrintTo(const GluCase& c, std::ostream* os) { *os << Name(c); }

constexpr auto kFirst = GluActivatedHalf::kFirst;
constexpr auto kSecond = GluActivatedHalf::kSecond;

class GluOpTest : public ::testing::TestWithParam<GluCase> {};

// The AVX-512 rows (when the CPU has them) and the portable ones.
TEST_P(GluOpTest, MatchesReference) {
  const GluCase& c = GetParam();
  const int64_t ld_in = 2 * c.width + c.extra_in;
  const int64_t ld_out = c.in_place ? ld_in : c.width + c.extra_out;
  std::mt19937 rng(c.rows * 17 + c.width);
  std::normal_distribution<float> normal(0, 2.5f);
  std::vector<float> in(c.rows * ld_in);
  for (float& v : in) v = normal(rng);
  std::vector<float> want(c.rows * ld_out, -7.0f);
  GatedActivationReference(in.data(), ld_in, c.rows, c.width, c.activation,
                           c.activated, want.data(), ld_out);
  for (bool portable : {false, true}) {
    ForcePortableVectorMathForTesting(portable);
    std::vector<float> got;
    if (c.in_place) {
      got = in;
      GatedActivation(got.data(), ld_in, c.rows, c.width, c.activation,
                      c.activated, got.data(), ld_out);
    } else {
      got.assign(c.rows * ld_out, -7.0f);
      GatedActivation(in.data(), ld_in, c.rows, c.width, c.activation,
                      c.activated, got.data(), ld_out);
    }
    ForcePortableVectorMathForTesting(false);
    const int64_t act = c.activated == kFirst ? 0 : c.width;
    for (int64_t r = 0; r < c.rows; ++r) {
      for (int64_t j = 0; j < c.width; ++j) {
        const float w = want[r * ld_out + j];
        const float x = in[r * ld_in + act + j];
        const float g = in[r * ld_in + c.width - act + j];
        // Float rounding, plus the erf approximation's 1.5e-7 (absolute) in
        // the vector GELU: at most 0.5 |x| 1.5e-7 |gate|.
        EXPECT_NEAR(got[r * ld_out + j], w,
                    1e-6 * (1 + std::fabs(w)) + 1e-7 * std::fabs(x * g))
            << "row " << r << " column " << j << (portable ? " portable" : "");
      }
      // Columns past width are not written (out of place).
      for (int64_t j = c.width; !c.in_place && j < ld_out; ++j) {
        EXPECT_EQ(got[r * ld_out + j], -7.0f);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, GluOpTest,
    ::testing::Values(
        // ModernBERT-base GeGLU: Wi is [2 * 1152, 768].
        GluCase{5, 1152, 0, 0, GluActivation::kGeluErf, kFirst, false},
        GluCase{5, 1152, 0, 0, GluActivation::kGeluErf, kFirst, true},
        // nomic-embed SwiGLU: fc11 | fc12, 3072 each.
        GluCase{3, 3072, 0, 0, GluActivation::kSilu, kSecond, false},
        GluCase{3, 3072, 0, 0, GluActivation::kSilu, kSecond, true},
        GluCase{4, 17, 3, 5, GluActivation::kGeluTanh, kFirst, false},
        GluCase{4, 17, 3, 5, GluActivation::kGeluTanh, kSecond, false},
        GluCase{1, 1, 0, 0, GluActivation::kSilu, kFirst, false},
        GluCase{2, 33, 1, 0, GluActivation::kGeluErf, kSecond, true}),
    [](const auto& info) { return Name(info.param); });

// A BF16 result: the FP32 result rounded once (AVX-512 and portable).
TEST(GluTest, Bf16OutputIsTheFloatResultRounded) {
  const int64_t rows = 3, width = 1152;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0, 2.5f);
  std::vector<float> in(rows * 2 * width), want(rows * width);
  for (float& v : in) v = normal(rng);
  std::vector<BF16> out(rows * width);
  for (bool portable : {false, true}) {
    ForcePortableVectorMathForTesting(portable);
    for (auto activation : {GluActivation::kGeluErf, GluActivation::kSilu}) {
      for (auto half : {kFirst, kSecond}) {
        GatedActivation(in.data(), 2 * width, rows, width, activation, half,
                        out.data(), width);
        GatedActivation(in.data(), 2 * width, rows, width, activation, half,
                        want.data(), width);
        for (int64_t i = 0; i < rows * width; ++i) {
          EXPECT_EQ(out[i].bits, FloatToBF16(want[i]).bits) << i;
        }
      }
    }
  }
  ForcePortableVectorMathForTesting(false);
}

// Known values: which half is activated matters, and the activations are
// the ones named (gelu(1) = 0.8413447, silu(1) = 0.7310586).
TEST(GluTest, ActivatedHalfAndKnownValues) {
  const float in[2] = {1.0f, 3.0f};
  float out = 0;
  GatedActivation(in, 2, 1, 1, GluActivation::kGeluErf, kFirst, &out, 1);
  EXPECT_NEAR(out, 0.8413447f * 3.0f, 1e-6);
  GatedActivation(in, 2, 1, 1, GluActivation::kSilu, kSecond, &out, 1);
  EXPECT_NEAR(out, 1.0f * (3.0f / (1.0f + std::exp(-3.0f))), 1e-6);
  const float in2[2] = {1.0f, 2.0f};
  GatedActivation(in2, 2, 1, 1, GluActivation::kSilu, kFirst, &out, 1);
  EXPECT_NEAR(out, 0.7310586f * 2.0f, 1e-6);
}

}  // namespace
}  // namespace attnserve::core
