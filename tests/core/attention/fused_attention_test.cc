// Edge cases of the fused (online-softmax) attention kernel against the
// reference: tile and block boundaries, tiny and odd shapes, rows that see
// no key, and scores large enough that a wrong running-maximum update would
// overflow or lose the answer.
#include "core/attention/fused_attention.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/attention/attention.h"
#include "core/attention/attention_list.h"
#include "core/attention/validate_attention.h"
#include "gtest/gtest.h"
#include "tests/core/attention/attention_test_util.h"

namespace attnserve::core {
namespace {

using attention_test::MaxExcess;
using attention_test::QuantizedTensor;
using attention_test::RandomTensor;

// FP32: scores and sums are FP32 (the reference: double), ~1e-6 relative.
constexpr double kFP32Tolerance = 1e-5;
// BF16: both sides see the same BF16 inputs; the kernel also rounds each
// probability to BF16 (relative error <= 2^-9) for P V, so an output may be
// off by up to 2^-9 * max |value|; 2^-8 leaves room for FP32 summation.
constexpr double kBF16RelativeToMaxValue = 1.0 / 256;

double MaxAbs(const Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.num_elements(); ++i)
    m = std::max(m, std::fabs(double{t.GetFloat(i)}));
  return m;
}

// Runs the fused kernel (every supported case, not only where it is
// faster) and the reference on `in` and compares the outputs.
void ExpectMatchesReference(const AttentionSpec& spec, AttentionInputs in,
                            const std::string& what) {
  SCOPED_TRACE(what);
  static const FusedAttention* fused =
      new FusedAttention(FusedAttention::Coverage::kEverywhere);
  const bool bf16 = in.compute_dtype == DType::kBF16;
  ASSERT_TRUE(ValidateAttention(spec, in).ok()) << ValidateAttention(spec, in);
  ASSERT_TRUE(fused->Supports(spec, in));
  AttentionOutputs expected, out;
  ASSERT_TRUE(
      RunAttention(ReferenceAttentionImplementation(), spec, in, &expected)
          .ok());
  ASSERT_TRUE(RunAttention(*fused, spec, in, &out).ok());
  ASSERT_EQ(out.output.shape(), expected.output.shape());
  const double atol =
      bf16 ? kBF16RelativeToMaxValue * MaxAbs(in.value.To(DType::kBF16))
           : kFP32Tolerance;
  const double rtol = bf16 ? 0.0 : kFP32Tolerance;
  EXPECT_LE(MaxExcess(out.output, expected.output, rtol), atol);
}

class FusedAttentionTest : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    if (!FusedAttention::CpuSupports(GetParam())) {
      GTEST_SKIP() << "this CPU cannot run the fused kernel for "
                   << DTypeName(GetParam());
    }
  }

  AttentionInputs Inputs(int64_t batch, int64_t heads, int64_t q_len,
                         int64_t k_len, int64_t head_dim, int64_t v_dim,
                         uint64_t seed) {
    std::mt19937_64 rng(seed);
    AttentionInputs in;
    in.query = RandomTensor({batch, heads, q_len, head_dim}, rng);
    in.key = RandomTensor({batch, heads, k_len, head_dim}, rng);
    in.value = RandomTensor({batch, heads, k_len, v_dim}, rng);
    in.compute_dtype = GetParam();
    return in;
  }
};

TEST_P(FusedAttentionTest, OneQueryOneKey) {
  AttentionSpec spec;
  ExpectMatchesReference(spec, Inputs(1, 1, 1, 1, 64, 64, 1), "S=1");
  spec.causal = true;
  ExpectMatchesReference(spec, Inputs(2, 3, 1, 1, 16, 16, 2), "S=1 causal");
}

// Lengths around the 64-key tile, the 4-row micro tile and the 64-row query
// block, with and without causal, several heads (and so several tasks on
// several threads).
TEST_P(FusedAttentionTest, LengthsAroundTileBoundaries) {
  uint64_t seed = 10;
  for (int64_t q_len : {1, 3, 4, 5, 63, 64, 65, 127, 130}) {
    for (int64_t k_len : {1, 15, 16, 17, 63, 64, 65, 129, 200}) {
      for (bool causal : {false, true}) {
        AttentionSpec spec;
        spec.causal = causal;
        ExpectMatchesReference(
            spec, Inputs(2, 3, q_len, k_len, 64, 64, ++seed),
            absl::StrCat("Sq=", q_len, " Sk=", k_len, " causal=", causal));
      }
    }
  }
}

// head_dim and v_dim that are not multiples of 16 (odd ones pad the BF16
// pairs), and v_dim over one 64-column chunk.
TEST_P(FusedAttentionTest, HeadDimsNotMultiplesOf16) {
  uint64_t seed = 100;
  for (int64_t head_dim : {1, 3, 8, 24, 33, 80, 128}) {
    for (int64_t v_dim : {1, 5, 17, 64, 100, 130}) {
      ExpectMatchesReference(AttentionSpec(),
                             Inputs(1, 2, 37, 70, head_dim, v_dim, ++seed),
                             absl::StrCat("D=", head_dim, " Dv=", v_dim));
    }
  }
}

// key_lengths of 0 (no key: output 0), inside a tile, on a tile boundary;
// with causal and a q_len different from k_len.
TEST_P(FusedAttentionTest, KeyLengthsAndCausal) {
  for (bool causal : {false, true}) {
    for (int64_t q_len : {50, 100, 140}) {
      AttentionSpec spec;
      spec.causal = causal;
      AttentionInputs in = Inputs(4, 2, q_len, 100, 64, 64, q_len);
      in.key_lengths = {0, 37, 64, 100};
      ExpectMatchesReference(spec, in,
                             absl::StrCat("causal=", causal, " Sq=", q_len));
    }
  }
}

// Additive masks of every broadcast form, with -inf entries, whole rows
// of -inf (those queries see nothing: output 0) and a whole tile of -inf
// before visible keys (the running maximum stays -inf over a tile).
TEST_P(FusedAttentionTest, MasksWithFullyMaskedRowsAndTiles) {
  const float minus_inf = -std::numeric_limits<float>::infinity();
  const int64_t batch = 2, heads = 2, q_len = 9, k_len = 150;
  std::mt19937_64 rng(7);
  const std::vector<std::vector<int64_t>> shapes = {
      {batch, heads, q_len, k_len}, {q_len, k_len}, {k_len}, {1},
      {batch, 1, q_len, 1},         {heads, 1, 1}};
  for (const auto& shape : shapes) {
    for (bool causal : {false, true}) {
      AttentionSpec spec;
      spec.causal = causal;
      AttentionInputs in = Inputs(batch, heads, q_len, k_len, 32, 48, 8);
      in.mask = RandomTensor(shape, rng);
      float* m = in.mask.data<float>();
      const int64_t n = in.mask.num_elements();
      for (int64_t e = 0; e < n; e += 3) m[e] = minus_inf;
      if (shape.back() == k_len) {
        // Row 0 (of the first broadcast row) sees nothing; keys [0, 64)
        // of the last row are hidden.
        for (int64_t j = 0; j < k_len; ++j) m[j] = minus_inf;
        for (int64_t j = 0; j < 64; ++j) m[n - k_len + j] = minus_inf;
      }
      if (shape == std::vector<int64_t>{1}) m[0] = minus_inf;
      ExpectMatchesReference(
          spec, in,
          absl::StrCat("mask rank ", shape.size(), " causal=", causal));
    }
  }
}

// Scores in the 1e3..1e14 range. Quantised inputs times powers of two keep
// every score exact in float, so the answer (nearly one-hot, with exact
// ties) does not depend on summation order; a running maximum that is not
// carried correctly across tiles gives Inf, NaN or the wrong key.
TEST_P(FusedAttentionTest, LargeScoresAreStable) {
  std::mt19937_64 rng(11);
  for (float magnitude : {1.0f, 32.0f, 1024.0f, 1048576.0f, 16777216.0f}) {
    AttentionInputs in;
    in.query = QuantizedTensor({1, 3, 70, 64}, rng);
    in.key = QuantizedTensor({1, 3, 200, 64}, rng);
    in.value = QuantizedTensor({1, 3, 200, 40}, rng);
    for (Tensor* t : {&in.query, &in.key}) {
      for (int64_t e = 0; e < t->num_elements(); ++e)
        t->data<float>()[e] *= magnitude;
    }
    in.compute_dtype = GetParam();
    AttentionSpec spec;
    spec.scale = 0.125f;
    ExpectMatchesReference(spec, in, absl::StrCat("magnitude ", magnitude));
  }
}

// Scores that rise (every tile raises the running maximum, by 64 per tile)
// or fall (the first tile holds it) along the keys.
TEST_P(FusedAttentionTest, RunningMaximumRisesAndFalls) {
  for (bool rising : {true, false}) {
    const int64_t k_len = 300, head_dim = 64;
    AttentionInputs in = Inputs(1, 1, 5, k_len, head_dim, 64, 12);
    for (int64_t e = 0; e < in.query.num_elements(); ++e)
      in.query.data<float>()[e] = 1.0f;
    for (int64_t c = 0; c < k_len; ++c) {
      const float score = rising ? c : k_len - c;  // q . k / 64 * 64
      for (int64_t d = 0; d < head_dim; ++d)
        in.key.data<float>()[c * head_dim + d] = score / 64;
    }
    AttentionSpec spec;
    spec.scale = 1.0f;
    ExpectMatchesReference(spec, in, rising ? "rising" : "falling");
  }
}

AttentionSpec LocalSpec(int64_t window_left, int64_t window_right,
                        bool causal) {
  AttentionSpec spec;
  spec.scope = AttentionSpec::Scope::kLocal;
  spec.window_left = uint32_t(window_left);
  spec.window_right = uint32_t(window_right);
  spec.causal = causal;
  return spec;
}

// LOCAL windows against the reference over random shapes: windows of 0
// (each query sees only its own key), asymmetric, around the 64-key tile
// and the 64-row block, larger than the sequence; q_len != k_len (queries
// whose window misses every key: output 0), causal, key_lengths.
TEST_P(FusedAttentionTest, LocalWindowsMatchReference) {
  std::mt19937_64 rng(400);
  const std::vector<int64_t> windows = {0, 1, 3, 16, 63, 64, 65, 130, 5000};
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t k_len = 1 + int64_t(rng() % 300);
    const int64_t q_len = trial % 3 == 0 ? 1 + int64_t(rng() % 300) : k_len;
    const int64_t head_dim = trial % 5 == 0 ? 1 + int64_t(rng() % 80) : 64;
    const int64_t batch = 1 + int64_t(rng() % 3),
                  heads = 1 + int64_t(rng() % 3);
    const int64_t left = windows[rng() % windows.size()];
    const int64_t right =
        trial % 2 == 0 ? left : windows[rng() % windows.size()];
    const bool causal = trial % 4 == 3;
    AttentionInputs in =
        Inputs(batch, heads, q_len, k_len, head_dim, head_dim, rng());
    if (trial % 6 == 5) {
      for (int64_t b = 0; b < batch; ++b)
        in.key_lengths.push_back(uint32_t(rng() % (k_len + 1)));
    }
    ExpectMatchesReference(
        LocalSpec(left, right, causal), in,
        absl::StrCat("B=", batch, " H=", heads, " Sq=", q_len, " Sk=", k_len,
                     " D=", head_dim, " window=", left, "/", right, " causal=",
                     causal, " key_lengths=", in.key_lengths.size()));
  }
}

// LOCAL equals GLOBAL with a dense additive mask that is -inf outside the
// band ([Sq, Sk], the way a masked dense implementation computes it), run
// by the reference and by the fused kernel itself.
TEST_P(FusedAttentionTest, LocalWindowEqualsDenseMaskedAttention) {
  static const FusedAttention* fused =
      new FusedAttention(FusedAttention::Coverage::kEverywhere);
  const bool bf16 = GetParam() == DType::kBF16;
  std::mt19937_64 rng(500);
  for (int64_t window : {0, 2, 64, 100, 400}) {
    for (int64_t length : {1, 70, 257}) {
      SCOPED_TRACE(absl::StrCat("window=", window, " S=", length));
      AttentionInputs local_in = Inputs(2, 2, length, length, 64, 64, rng());
      AttentionInputs dense_in = local_in;
      dense_in.mask = Tensor(DType::kFP32, {length, length});
      for (int64_t i = 0; i < length; ++i) {
        for (int64_t j = 0; j < length; ++j) {
          dense_in.mask.data<float>()[i * length + j] =
              std::abs(i - j) <= window
                  ? 0.0f
                  : -std::numeric_limits<float>::infinity();
        }
      }
      AttentionOutputs local_out, dense_reference, dense_fused;
      const AttentionSpec spec = LocalSpec(window, window, false);
      ASSERT_TRUE(RunAttention(*fused, spec, local_in, &local_out).ok());
      ASSERT_TRUE(RunAttention(ReferenceAttentionImplementation(),
                               AttentionSpec(), dense_in, &dense_reference)
                      .ok());
      ASSERT_TRUE(
          RunAttention(*fused, AttentionSpec(), dense_in, &dense_fused).ok());
      const double atol = bf16 ? kBF16RelativeToMaxValue *
                                     MaxAbs(local_in.value.To(DType::kBF16))
                               : kFP32Tolerance;
      EXPECT_LE(MaxExcess(local_out.output, dense_reference.output,
                          bf16 ? 0.0 : kFP32Tolerance),
                atol);
      // The same kernel, the same tiles: the window and the mask hide the
      // same keys, so the result is identical.
      EXPECT_EQ(MaxExcess(local_out.output, dense_fused.output, 0.0), 0.0);
    }
  }
}

// The kernel run straight on an encoder's packed QKV rows gives exactly
// (bit for bit) what it gives on the split [B, H, S, D] tensors, and writes
// only the rows of the sequences. Sequences start at uneven rows with gaps
// between them; D = 33 makes odd BF16 row strides (the unpaired key path).
// Every other case adds a per-head additive mask [1, H, S, S] (as MPNet's
// relative position bias).
TEST_P(FusedAttentionTest, PackedRowsEqualSplitHeads) {
  const DType dtype = GetParam();
  static const FusedAttention* fused =
      new FusedAttention(FusedAttention::Coverage::kEverywhere);
  const std::vector<int64_t> first_rows = {5, 75, 150};
  const int64_t batch = int64_t(first_rows.size()), heads = 3, rows = 220;
  uint64_t seed = 300;
  // GLOBAL (window -1) and LOCAL windows, 0 and wider than the sequences.
  for (int64_t head_dim : {64, 33}) {
    for (int64_t length : {1, 33, 65}) {
      for (int64_t window : {-1, 0, 7, 64, 1000}) {
        for (bool causal : {false, true}) {
          const bool with_mask = seed % 2 == 0;
          SCOPED_TRACE(absl::StrCat("D=", head_dim, " S=", length,
                                    " window=", window, " causal=", causal,
                                    " mask=", with_mask));
          const int64_t width = heads * head_dim;
          std::mt19937_64 rng(++seed);
          const Tensor qkv = RandomTensor({rows, 3 * width}, rng).To(dtype);
          const Tensor sentinel = RandomTensor({rows, width}, rng).To(dtype);
          AttentionInputs in;
          in.compute_dtype = dtype;
          in.output_dtype = dtype;
          if (with_mask)
            in.mask = RandomTensor({1, heads, length, length}, rng);
          Tensor* parts[3] = {&in.query, &in.key, &in.value};
          for (int part = 0; part < 3; ++part) {
            Tensor split(DType::kFP32, {batch, heads, length, head_dim});
            for (int64_t b = 0; b < batch; ++b) {
              for (int64_t h = 0; h < heads; ++h) {
                for (int64_t i = 0; i < length; ++i) {
                  for (int64_t d = 0; d < head_dim; ++d) {
                    split.data<float>()[((b * heads + h) * length + i) *
                                            head_dim +
                                        d] =
                        qkv.GetFloat((first_rows[b] + i) * 3 * width +
                                     part * width + h * head_dim + d);
                  }
                }
              }
            }
            *parts[part] = split.To(dtype);
          }
          AttentionSpec spec =
              window < 0 ? AttentionSpec() : LocalSpec(window, window, false);
          spec.causal = causal;
          AttentionOutputs expected;
          ASSERT_TRUE(RunAttention(*fused, spec, in, &expected).ok());

          Tensor out = sentinel.To(dtype);
          FusedSelfAttentionOnPackedRows(spec, dtype, qkv.raw_data(),
                                         first_rows, length, heads, head_dim,
                                         in.mask, out.raw_data());
          std::vector<bool> in_sequence(rows, false);
          for (int64_t b = 0; b < batch; ++b) {
            for (int64_t i = 0; i < length; ++i) {
              in_sequence[first_rows[b] + i] = true;
              for (int64_t h = 0; h < heads; ++h) {
                for (int64_t d = 0; d < head_dim; ++d) {
                  ASSERT_EQ(out.GetFloat((first_rows[b] + i) * width +
                                         h * head_dim + d),
                            expected.output.GetFloat(
                                ((b * heads + h) * length + i) * head_dim + d))
                      << "b=" << b << " h=" << h << " i=" << i << " d=" << d;
                }
              }
            }
          }
          for (int64_t r = 0; r < rows; ++r) {
            if (in_sequence[r]) continue;
            for (int64_t c = 0; c < width; ++c) {
              ASSERT_EQ(out.GetFloat(r * width + c),
                        sentinel.GetFloat(r * width + c))
                  << "row " << r << " outside the sequences was written";
            }
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, FusedAttentionTest,
                         ::testing::Values(DType::kFP32, DType::kBF16),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(DTypeName(info.param));
                         });

}  // namespace
}  // namespace attnserve::core
