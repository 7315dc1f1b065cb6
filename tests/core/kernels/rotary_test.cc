#include "core/kernels/rotary.h"

#include <cmath>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

// One row of the op table: RotaryTable::Apply against RotaryReference.
struct RotaryCase {
  int64_t rows, num_heads, head_dim, rotary_dim, extra_columns;
  double base;
  int64_t max_positions;
};

std::string Name(const RotaryCase& c) {
  return absl::StrCat("rows", c.rows, "_heads", c.num_heads, "_d", c.head_dim,
                      "_rot", c.rotary_dim, "_ld_plus", c.extra_columns,
                      "_base", c.base, "_max", c.max_positions);
}

void PrintTo(const RotaryCase& c, std::ostream* os) { *os << Name(c); }

class RotaryOpTest : public ::testing::TestWithParam<RotaryCase> {};

TEST_P(RotaryOpTest, MatchesReference) {
  const RotaryCase& c = GetParam();
  auto table = RotaryTable::Create(c.rotary_dim, c.base, c.max_positions);
  ASSERT_TRUE(table.ok()) << table.status();
  const int64_t ld = c.num_heads * c.head_dim + c.extra_columns;
  std::mt19937 rng(c.rows * 131 + c.head_dim);
  std::normal_distribution<float> normal(0, 1);
  std::uniform_int_distribution<int32_t> position(0, c.max_positions - 1);
  std::vector<float> x(c.rows * ld);
  for (float& v : x) v = normal(rng);
  std::vector<int32_t> positions(c.rows);
  for (int32_t& p : positions) p = position(rng);
  positions[0] = 0;  // the identity rotation
  positions.back() = int32_t(c.max_positions - 1);
  std::vector<float> got = x, want = x;
  table->Apply(got.data(), c.rows, ld, c.num_heads, c.head_dim,
               positions.data());
  RotaryReference(want.data(), c.rows, ld, c.num_heads, c.head_dim,
                  c.rotary_dim, c.base, positions.data());
  for (int64_t r = 0; r < c.rows; ++r) {
    for (int64_t j = 0; j < ld; ++j) {
      const int64_t i = r * ld + j;
      const bool rotated =
          j < c.num_heads * c.head_dim && j % c.head_dim < c.rotary_dim;
      if (!rotated) {
        // Dims past rotary_dim and columns past the heads are untouched.
        EXPECT_EQ(got[i], x[i]) << "row " << r << " column " << j;
      } else {
        EXPECT_NEAR(got[i], want[i], 2e-6 * (1 + std::fabs(want[i])))
            << "row " << r << " column " << j << " position " << positions[r];
      }
    }
  }
  // Position 0 rotates by 0: row 0 is unchanged.
  for (int64_t j = 0; j < ld; ++j) EXPECT_EQ(got[j], x[j]);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RotaryOpTest,
    ::testing::Values(
        // ModernBERT-base: 12 heads of 64, Q and K in one call (24 heads) of
        // a fused QKV row (ld = 3 * 768), global and local theta.
        RotaryCase{9, 24, 64, 64, 768, 160000.0, 8192},
        RotaryCase{9, 24, 64, 64, 768, 10000.0, 8192},
        // NomicBERT with rotary_emb_fraction 0.5 and base 1000.
        RotaryCase{7, 8, 64, 32, 256, 1000.0, 2048},
        // Small and odd shapes: rotary_dim 2, half not a multiple of 16.
        RotaryCase{5, 1, 2, 2, 0, 10000.0, 16},
        RotaryCase{3, 3, 12, 6, 5, 500.0, 100},
        RotaryCase{1, 2, 16, 16, 0, 10000.0, 1}),
    [](const auto& info) { return Name(info.param); });

// Rotation keeps each (i, i + half) pair's norm, and rotating by position p
// then reading q.k against a key at position p' depends only on p - p'.
TEST(RotaryTest, InvariantsNormAndRelativeScore) {
  auto table = RotaryTable::Create(16, 10000.0, 512);
  ASSERT_TRUE(table.ok());
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> q(16), k(16);
  for (float& v : q) v = normal(rng);
  for (float& v : k) v = normal(rng);
  auto score = [&](int32_t pq, int32_t pk) {
    std::vector<float> a = q, b = k;
    table->Apply(a.data(), 1, 16, 1, 16, &pq);
    table->Apply(b.data(), 1, 16, 1, 16, &pk);
    double norm_a = 0, norm_q = 0, dot = 0;
    for (int i = 0; i < 16; ++i) {
      norm_a += double(a[i]) * a[i];
      norm_q += double(q[i]) * q[i];
      dot += double(a[i]) * b[i];
    }
    EXPECT_NEAR(norm_a, norm_q, 1e-4);
    return dot;
  };
  EXPECT_NEAR(score(5, 2), score(300, 297), 1e-4);
  EXPECT_NEAR(score(0, 40), score(400, 440), 1e-4);
  EXPECT_GT(std::fabs(score(5, 2) - score(5, 40)), 1e-3);
}

TEST(RotaryTest, CreateRejectsOutOfRangeSettings) {
  EXPECT_THAT(RotaryTable::Create(7, 10000, 16).status().message(),
              HasSubstr("rotary dim is 7, expected an even number"));
  EXPECT_THAT(RotaryTable::Create(0, 10000, 16).status().message(),
              HasSubstr("rotary dim is 0"));
  EXPECT_THAT(RotaryTable::Create(8, 0.5, 16).status().message(),
              HasSubstr("rotary base is 0.5, expected a finite number > 1"));
  EXPECT_THAT(RotaryTable::Create(8, NAN, 16).status().message(),
              HasSubstr("rotary base is nan"));
  EXPECT_THAT(RotaryTable::Create(8, 10000, 0).status().message(),
              HasSubstr("rotary max positions is 0"));
}

}  // namespace
}  // namespace attnserve::core
