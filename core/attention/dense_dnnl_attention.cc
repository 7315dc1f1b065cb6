#include "core/attention/dense_dnnl_attention.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/attention/attention_mask.h"
#include "core/base/parallel.h"
#include "core/base/thread_scratch.h"
#include "core/dnnl/dnnl_context.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {
namespace {

using dnnl::memory;

// Score buffer budget per step: the scores the matmul writes should still be
// in the cores' L2 caches when the softmax pass reads them. A step is a group
// of whole heads or, when one head's scores are larger, a block of its query
// rows.
constexpr int64_t kStepScoreBytes = int64_t{1} << 20;

// Score passes over fewer elements than this run on the calling thread, and
// so do whole calls with fewer multiply-adds than kMinParallelWork.
constexpr int64_t kMinParallelScores = 16384;
constexpr int64_t kMinParallelWork = int64_t{1} << 20;

memory::data_type DnnlType(DType dtype) {
  return dtype == DType::kBF16 ? memory::data_type::bf16
                               : memory::data_type::f32;
}

// Batched matmul dst[g] = src[g] . wei[g] for g in [0, batch), all row-major
// except wei, which has explicit strides (to read K as K^T without a copy).
//   src: [batch, m, k]   wei: [batch, k, n] with strides wei_strides   dst:
//   [batch, m, n] f32
struct BatchedMatmul {
  memory::desc src, wei, dst;
  dnnl::matmul primitive;

  BatchedMatmul(absl::string_view kind, int64_t batch, int64_t m, int64_t k,
                int64_t n, memory::data_type type,
                const memory::dims& wei_strides)
      : src({batch, m, k}, type, memory::dims{m * k, k, 1}),
        wei({batch, k, n}, type, wei_strides),
        dst({batch, m, n}, memory::data_type::f32, memory::dims{m * n, n, 1}),
        primitive(DnnlContext::Get().GetOrCreate<dnnl::matmul>(
            absl::StrCat(kind, "/", batch, "x", m, "x", k, "x", n, "/",
                         static_cast<int>(type), "/", wei_strides[0], ",",
                         wei_strides[1], ",", wei_strides[2]),
            [&] {
              return dnnl::matmul(dnnl::matmul::primitive_desc(
                  dnnl::matmul::desc(src, wei, dst), DnnlContext::DefaultAttr(),
                  DnnlContext::Get().engine()));
            })) {}

  void Run(const void* src_data, const void* wei_data, float* dst_data) const {
    const dnnl::engine& engine = DnnlContext::Get().engine();
    memory src_mem(src, engine, const_cast<void*>(src_data));
    memory wei_mem(wei, engine, const_cast<void*>(wei_data));
    memory dst_mem(dst, engine, dst_data);
    dnnl::stream& stream = DnnlContext::Get().stream();
    primitive.execute(stream,
                      {{DNNL_ARG_SRC, src_mem},
                       {DNNL_ARG_WEIGHTS, wei_mem},
                       {DNNL_ARG_DST, dst_mem},
                       {DNNL_ARG_SCRATCHPAD,
                        DnnlContext::Get().ThreadScratchpad(primitive)}});
    stream.wait();
  }
};

}  // namespace

bool DenseDnnlAttention::Supports(const AttentionSpec& spec,
                                  const AttentionInputs&) const {
  return spec.weighting == AttentionSpec::Weighting::kSoft &&
         spec.scope == AttentionSpec::Scope::kGlobal;
}

absl::Status DenseDnnlAttention::Run(const AttentionSpec& spec,
                                     const AttentionInputs& in,
                                     AttentionOutputs* out) const {
  const int64_t batch = in.query.dim(0), heads = in.query.dim(1),
                q_len = in.query.dim(2);
  const int64_t head_dim = in.query.dim(3), k_len = in.key.dim(2),
                v_dim = in.value.dim(3);
  const int64_t batch_heads = batch * heads;
  const DType dtype = in.query.dtype();
  const memory::data_type type = DnnlType(dtype);
  const size_t element = DTypeSize(dtype);
  const float scale = EffectiveScale(spec, head_dim);
  const AttentionMaskView mask(in.mask);
  const auto* q = static_cast<const char*>(in.query.raw_data());
  const auto* k = static_cast<const char*>(in.key.raw_data());
  const auto* v = static_cast<const char*>(in.value.raw_data());

  out->output = Tensor(DType::kFP32, {batch, heads, q_len, v_dim});
  if (in.return_weights) {
    out->weights = Tensor(DType::kFP32, {batch, heads, q_len, k_len});
  }

  // Softmax of one row of scores s (query i of head bh) over its visible
  // keys. Without weights to return, P stays unnormalised (exp(l - max)); the
  // output row is divided by the sum after P V instead: one pass fewer.
  // Returns what the output row must be multiplied by.
  auto mask_and_softmax = [&](int64_t bh, int64_t i, float* s,
                              BF16* s_bf16) -> float {
    const int64_t b = bh / heads, h = bh % heads;
    // Visible keys form a prefix: below key_lengths[b] and, if causal, at
    // most the query's position p = i + k_len - q_len.
    int64_t visible = in.key_lengths.empty() ? k_len : in.key_lengths[b];
    if (spec.causal) {
      visible = std::clamp<int64_t>(i + k_len - q_len + 1, 0, visible);
    }
    // Scores are scaled (and masked) in place first, so exp's argument
    // s - max is exact: folding the scale into exp (an FMA of s * scale -
    // scale * max) leaves the product's rounding error, ~1e9 for scores
    // ~1e16, which sends the row's maximum to exp(-1e9) = 0 or to Inf.
    const float exp_scale = 1.0f;
    float max = ScaleAndAddBiasMax(s, visible, scale,
                                   mask.present() ? mask.Row(b, h, i) : nullptr,
                                   mask.key_stride());
    if (max == -std::numeric_limits<float>::infinity()) {
      visible = 0;  // sees no key: all weights 0
    }
    float inverse_sum = 0;
    if (s_bf16 != nullptr && !in.return_weights) {
      // P goes straight to BF16 for the P V matmul.
      if (visible > 0) {
        inverse_sum =
            1.0f / ExpAndSumToBF16(s, visible, exp_scale, max, s_bf16);
      }
      std::fill(s_bf16 + visible, s_bf16 + k_len, BF16{0});
      return inverse_sum;
    }
    if (visible > 0) inverse_sum = 1.0f / ExpAndSum(s, visible, exp_scale, max);
    std::fill(s + visible, s + k_len, 0.0f);
    if (in.return_weights) {
      ScaleRow(s, visible, inverse_sum);
      inverse_sum = 1.0f;
    }
    if (s_bf16 != nullptr) ConvertToBF16(s, s_bf16, k_len);
    return inverse_sum;
  };

  // Attention for heads [bh_begin, bh_end) in steps of a group of whole heads
  // or, when one head's scores are over the budget, a block of its query
  // rows. `parallel_rows`: split each step's softmax rows over the thread
  // team (oneDNN splits the matmuls itself); else all runs on this thread.
  auto run_heads = [&](int64_t bh_begin, int64_t bh_end, bool parallel_rows) {
    const int64_t row_bytes = k_len * int64_t{sizeof(float)};
    const int64_t block_rows =
        std::min(q_len, std::max<int64_t>(kStepScoreBytes / row_bytes, 16));
    const int64_t group =
        block_rows < q_len
            ? 1
            : std::clamp<int64_t>(kStepScoreBytes / (q_len * row_bytes), 1,
                                  bh_end - bh_begin);
    const int64_t step_scores = group * block_rows * k_len;
    float* scratch_scores =
        in.return_weights ? nullptr : ThreadScratch<float, 0>(step_scores);
    BF16* probs_bf16 =
        dtype == DType::kBF16 ? ThreadScratch<BF16, 0>(step_scores) : nullptr;
    float* inverse_sums = ThreadScratch<float, 1>(group * block_rows);
    // Step: heads [g0, g0 + n), query rows [r0, r0 + rows) of each (n == 1 or
    // rows == q_len).
    for (int64_t g0 = bh_begin, r0 = 0; g0 < bh_end;) {
      const int64_t n = std::min(group, bh_end - g0);
      const int64_t rows = std::min(block_rows, q_len - r0);
      float* scores = in.return_weights ? out->weights.data<float>() +
                                              (g0 * q_len + r0) * k_len
                                        : scratch_scores;
      // S = Q K^T: K [n, k_len, head_dim] read as [n, head_dim, k_len].
      BatchedMatmul("attention_qk", n, rows, head_dim, k_len, type,
                    {k_len * head_dim, 1, head_dim})
          .Run(q + (g0 * q_len + r0) * head_dim * element,
               k + g0 * k_len * head_dim * element, scores);
      auto softmax_rows = [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
          inverse_sums[row] = mask_and_softmax(
              g0 + row / rows, r0 + row % rows, scores + row * k_len,
              probs_bf16 != nullptr ? probs_bf16 + row * k_len : nullptr);
        }
      };
      // Waking the thread team costs more than a small pass.
      if (parallel_rows && n * rows * k_len >= kMinParallelScores) {
        ParallelFor(n * rows, softmax_rows);
      } else {
        softmax_rows(0, n * rows);
      }
      // O = P V, then each row times its inverse sum.
      const void* probs =
          probs_bf16 != nullptr ? static_cast<const void*>(probs_bf16) : scores;
      float* step_out = out->output.data<float>() + (g0 * q_len + r0) * v_dim;
      BatchedMatmul("attention_pv", n, rows, k_len, v_dim, type,
                    {k_len * v_dim, v_dim, 1})
          .Run(probs, v + g0 * k_len * v_dim * element, step_out);
      if (!in.return_weights) {
        for (int64_t row = 0; row < n * rows; ++row) {
          ScaleRow(step_out + row * v_dim, v_dim, inverse_sums[row]);
        }
      }
      r0 += rows;
      if (r0 == q_len) {
        r0 = 0;
        g0 += n;
      }
    }
  };

  // With enough heads, each thread takes whole heads: one parallel region per
  // call, every matmul runs single-threaded (nested in the region) on data in
  // that core's cache. Few heads: oneDNN and the row passes split each step.
  const int threads = ComputeThreads();
  const int64_t work = batch_heads * q_len * k_len * (head_dim + v_dim);
  if (threads > 1 && batch_heads >= 2 * threads && work >= kMinParallelWork) {
    ParallelFor(batch_heads, [&](int64_t begin, int64_t end) {
      run_heads(begin, end, false);
    });
  } else {
    run_heads(0, batch_heads, true);
  }
  return absl::OkStatus();
}

}  // namespace attnserve::core
