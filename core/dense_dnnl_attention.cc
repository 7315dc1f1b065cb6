#include "core/dense_dnnl_attention.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/attention_mask.h"
#include "core/dnnl_context.h"
#include "core/parallel.h"
#include "core/vector_math.h"

namespace attnserve::core {
namespace {

using dnnl::memory;

// Score buffer budget per head group: big enough for oneDNN to parallelise
// over heads, small enough to stay in cache between the passes.
constexpr int64_t kGroupScoreBytes = int64_t{4} << 20;

// Score passes over fewer elements than this run on the calling thread.
constexpr int64_t kMinParallelScores = 16384;

// A per-thread buffer that only grows; avoids allocating (and page-faulting)
// the score buffers on every call.
// kSlot tells apart buffers of one type used at the same time.
template <class T, int kSlot>
T* ThreadScratch(int64_t n) {
  struct Buffer {
    std::unique_ptr<void, decltype(&std::free)> data{nullptr, &std::free};
    int64_t capacity = 0;
  };
  thread_local Buffer buffer;
  if (buffer.capacity < n) {
    const size_t bytes = (static_cast<size_t>(n) * sizeof(T) + 63) / 64 * 64;
    buffer.data.reset(std::aligned_alloc(64, bytes));
    if (buffer.data == nullptr) throw std::bad_alloc();
    buffer.capacity = n;
  }
  return static_cast<T*>(buffer.data.get());
}

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

  out->output = Tensor(DType::kFP32, {batch, heads, q_len, v_dim});
  if (in.return_weights)
    out->weights = Tensor(DType::kFP32, {batch, heads, q_len, k_len});

  const int64_t head_scores = q_len * k_len;
  const int64_t group = std::clamp<int64_t>(
      kGroupScoreBytes / (head_scores * int64_t{sizeof(float)}), 1,
      batch_heads);
  float* scratch_scores = in.return_weights
                              ? nullptr
                              : ThreadScratch<float, 0>(group * head_scores);
  BF16* probs_bf16 = dtype == DType::kBF16
                         ? ThreadScratch<BF16, 0>(group * head_scores)
                         : nullptr;

  float* inverse_sums = ThreadScratch<float, 1>(group * q_len);

  const auto* q = static_cast<const char*>(in.query.raw_data());
  const auto* k = static_cast<const char*>(in.key.raw_data());
  const auto* v = static_cast<const char*>(in.value.raw_data());
  for (int64_t g0 = 0; g0 < batch_heads; g0 += group) {
    const int64_t n = std::min(group, batch_heads - g0);
    float* scores = in.return_weights
                        ? out->weights.data<float>() + g0 * head_scores
                        : scratch_scores;
    // S = Q K^T: K [n, k_len, head_dim] read as [n, head_dim, k_len].
    BatchedMatmul("attention_qk", n, q_len, head_dim, k_len, type,
                  {k_len * head_dim, 1, head_dim})
        .Run(q + g0 * q_len * head_dim * element,
             k + g0 * k_len * head_dim * element, scores);

    // P = softmax(scale S + mask) over each row's visible keys. Without
    // weights to return, P stays unnormalised (exp(l - max)) and the output
    // rows are divided by the sums after P V instead: one pass fewer.
    auto mask_and_softmax = [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t bh = g0 + row / q_len, i = row % q_len;
        const int64_t b = bh / heads, h = bh % heads;
        // Visible keys form a prefix: below key_lengths[b] and, if causal,
        // at most the query's position p = i + k_len - q_len.
        int64_t visible = in.key_lengths.empty() ? k_len : in.key_lengths[b];
        if (spec.causal) {
          visible = std::clamp<int64_t>(i + k_len - q_len + 1, 0, visible);
        }
        float* s = scores + row * k_len;
        float exp_scale = scale, max;
        if (mask.present() || scale < 0) {
          max = ScaleAndAddBiasMax(s, visible, scale,
                                   mask.present() ? mask.Row(b, h, i) : nullptr,
                                   mask.key_stride());
          exp_scale = 1.0f;
        } else {
          max = scale * RowMax(s, visible);
        }
        float inverse_sum = 0;
        if (max == -std::numeric_limits<float>::infinity()) {
          visible = 0;  // sees no key: all weights 0
        } else {
          inverse_sum = 1.0f / ExpAndSum(s, visible, exp_scale, max);
        }
        std::fill(s + visible, s + k_len, 0.0f);
        if (in.return_weights) {
          ScaleRow(s, visible, inverse_sum);
          inverse_sum = 1.0f;
        }
        inverse_sums[row] = inverse_sum;
        if (probs_bf16 != nullptr) {
          ConvertToBF16(s, probs_bf16 + row * k_len, k_len);
        }
      }
    };
    // Waking the thread team costs more than a small pass.
    if (n * head_scores < kMinParallelScores) {
      mask_and_softmax(0, n * q_len);
    } else {
      ParallelFor(n * q_len, mask_and_softmax);
    }

    // O = P V, then each row times its inverse sum.
    const void* probs =
        probs_bf16 != nullptr ? static_cast<const void*>(probs_bf16) : scores;
    float* group_out = out->output.data<float>() + g0 * q_len * v_dim;
    BatchedMatmul("attention_pv", n, q_len, k_len, v_dim, type,
                  {k_len * v_dim, v_dim, 1})
        .Run(probs, v + g0 * k_len * v_dim * element, group_out);
    if (!in.return_weights) {
      for (int64_t row = 0; row < n * q_len; ++row) {
        ScaleRow(group_out + row * v_dim, v_dim, inverse_sums[row]);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace attnserve::core
