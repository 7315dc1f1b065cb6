#ifndef ATTNSERVE_CORE_LAYERS_SELF_ATTENTION_H_
#define ATTNSERVE_CORE_LAYERS_SELF_ATTENTION_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/attention/attention.h"
#include "core/base/tensor.h"
#include "core/dnnl/packed_linear.h"
#include "core/kernels/rotary.h"
#include "core/layers/encoder_batch.h"
#include "core/model/encoder_model.h"

namespace attnserve::core {

// What an architecture adds to plain multi-head self-attention. Both are
// optional (empty std::function: not used).
struct SelfAttentionHooks {
  // Rotary position embedding: rotates, in place, the query and key heads of
  // the fused projection rows
  //   qkv: [rows, 3 * hidden] FP32 (query heads, then key heads, then value)
  //   positions: [rows], each token's position in its sequence
  // It runs in FP32 whatever the compute dtype (the layer converts after).
  std::function<void(float* qkv, int64_t rows,
                     absl::Span<const int32_t> positions)>
      rotary;
  // An additive bias on the attention scores of queries at positions
  // [0, query_length) against keys at [0, key_length) (MPNet's relative
  // position bias): a mask broadcastable to
  // [sequences, heads, query_length, key_length] FP32
  // (AttentionInputs::mask). Encode asks for each length group's
  // (length, length).
  std::function<Tensor(int64_t query_length, int64_t key_length)> score_bias;
};

// The rotary hook of rotary models (NomicBERT, ModernBERT): `table` rotates
// the query and key heads (heads of head_dim each) of every row, rows in
// parallel. The table must outlive the hooks.
SelfAttentionHooks RotaryHooks(const RotaryTable& table, int64_t heads,
                               int64_t head_dim);

// A layer's learned attention projections are
//   qkv: [hidden] -> [3 * hidden], query, key and value fused
//   output: [hidden] -> [hidden]

// One layer's self-attention block over the batch, with the layer's
// attention (EncoderBatch::GroupAttention): fused QKV projection, hooks,
// attention per length group through the implementation list (on the packed
// rows where the chosen implementation can, else on split heads), merge,
// output projection (bias included); no residual, no norm.
//   input: [tokens, hidden] in the batch's compute dtype (padded rows)
//   out: [tokens, hidden] FP32 (padded rows)
// Uses the batch's qkv() and context() buffers; hands the attention weights
// to the batch when the caller asked for this layer's.
absl::Status SelfAttention(const PackedLinear& qkv, const PackedLinear& output,
                           const SelfAttentionHooks& hooks, int64_t layer,
                           const void* input, EncoderBatch* batch, float* out);

// MultiHeadAttend (EncoderModel) on one layer's projections: checks hidden,
// context and lengths (errors name them), projects in FP32, applies the
// hooks as Encode does (positions: each row's index in its sequence of hidden
// or context, which with hooks may hold at most max_positions rows), attends
// with inputs.spec, projects the merged heads. inputs.layer only names the
// layer in errors; the caller checked it.
absl::StatusOr<AttentionOutputs> MultiHeadAttendLayer(
    const PackedLinear& qkv, const PackedLinear& output, int64_t heads,
    const SelfAttentionHooks& hooks, int64_t max_positions,
    const MultiHeadAttendInputs& inputs);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_SELF_ATTENTION_H_
