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
  // An additive bias on the attention scores of the sequences of one length
  // group (MPNet's relative position bias): a mask broadcastable to
  // [sequences, heads, length, length] FP32 (AttentionInputs::mask).
  std::function<Tensor(int64_t length)> score_bias;
};

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
// context and lengths (errors name them), projects in FP32, attends with
// inputs.spec, projects the merged heads. inputs.layer only names the layer in
// errors; the caller checked it.
absl::StatusOr<AttentionOutputs> MultiHeadAttendLayer(
    const PackedLinear& qkv, const PackedLinear& output, int64_t heads,
    const MultiHeadAttendInputs& inputs);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_SELF_ATTENTION_H_
