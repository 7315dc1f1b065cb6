#include "core/layers/encoder_layer.h"

#include "absl/strings/str_cat.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/kernels/layer_norm.h"
#include "core/layers/feed_forward.h"
#include "core/layers/gated_feed_forward.h"

namespace attnserve::core {
namespace {

// The feed-forward of `input` into batch->projected().
absl::Status RunFeedForward(const EncoderLayerWeights& w,
                            const FeedForwardKind& mlp, const void* input,
                            EncoderBatch* batch) {
  if (mlp.gated) {
    return GatedFeedForward(w.mlp_up, w.mlp_down, mlp.glu, mlp.activated, input,
                            batch, batch->projected());
  }
  return FeedForward(w.mlp_up, w.mlp_down, mlp.activation, input, batch,
                     batch->projected());
}

// x[i] += y[i] for the rows of the residual stream.
void AddResidual(const float* y, int64_t rows, int64_t width, float* x) {
  ParallelFor(rows, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin * width; i < end * width; ++i) x[i] += y[i];
  });
}

}  // namespace

absl::Status PostLnEncoderLayer(const EncoderLayerWeights& w,
                                const FeedForwardKind& mlp,
                                const SelfAttentionHooks& hooks, float eps,
                                int64_t layer, bool last, EncoderBatch* batch) {
  const int64_t tokens = batch->tokens(), hidden = batch->dims().hidden_size;
  RETURN_IF_ERROR(
      SelfAttention(w.qkv, w.attention_output, hooks, layer,
                    batch->AsInput(batch->states(), batch->states_bf16()),
                    batch, batch->projected()));
  AddLayerNorm(batch->projected(), batch->states(),
               w.attention_norm.gamma.data<float>(),
               w.attention_norm.beta_or_null(), eps, tokens, hidden,
               batch->attended(), batch->attended_bf16());
  RETURN_IF_ERROR(RunFeedForward(
      w, mlp, batch->AsInput(batch->attended(), batch->attended_bf16()),
      batch));
  // The last layer writes the result directly.
  AddLayerNorm(batch->projected(), batch->attended(),
               w.mlp_norm.gamma.data<float>(), w.mlp_norm.beta_or_null(), eps,
               tokens, hidden, last ? batch->output() : batch->states(),
               last ? nullptr : batch->states_bf16());
  return absl::OkStatus();
}

absl::Status PreLnEncoderLayer(const EncoderLayerWeights& w,
                               const FeedForwardKind& mlp,
                               const SelfAttentionHooks& hooks, float eps,
                               int64_t layer, EncoderBatch* batch) {
  const int64_t tokens = batch->tokens(), hidden = batch->dims().hidden_size;
  const void* attention_input =
      batch->AsInput(batch->states(), batch->states_bf16());
  if (!w.attention_norm.gamma.empty()) {
    AddLayerNorm(batch->states(), nullptr, w.attention_norm.gamma.data<float>(),
                 w.attention_norm.beta_or_null(), eps, tokens, hidden,
                 batch->attended(), batch->attended_bf16());
    attention_input = batch->AsInput(batch->attended(), batch->attended_bf16());
  }
  RETURN_IF_ERROR(SelfAttention(w.qkv, w.attention_output, hooks, layer,
                                attention_input, batch, batch->projected()));
  AddResidual(batch->projected(), tokens, hidden, batch->states());
  AddLayerNorm(batch->states(), nullptr, w.mlp_norm.gamma.data<float>(),
               w.mlp_norm.beta_or_null(), eps, tokens, hidden,
               batch->attended(), batch->attended_bf16());
  RETURN_IF_ERROR(RunFeedForward(
      w, mlp, batch->AsInput(batch->attended(), batch->attended_bf16()),
      batch));
  AddResidual(batch->projected(), tokens, hidden, batch->states());
  return absl::OkStatus();
}

absl::StatusOr<AttentionOutputs> MultiHeadAttendEncoderLayer(
    absl::Span<const EncoderLayerWeights> layers, int64_t heads,
    absl::Span<const SelfAttentionHooks> hooks, int64_t max_positions,
    const MultiHeadAttendInputs& inputs) {
  const int64_t num_layers = int64_t(layers.size());
  if (inputs.layer < 0 || inputs.layer >= num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("layer is ", inputs.layer,
                                                   ", expected a layer in [0, ",
                                                   num_layers, ")"));
  }
  const EncoderLayerWeights& w = layers[inputs.layer];
  return MultiHeadAttendLayer(
      w.qkv, w.attention_output, heads,
      hooks.size() == 1 ? hooks[0] : hooks[inputs.layer], max_positions,
      inputs);
}

}  // namespace attnserve::core
