#ifndef ATTNSERVE_CORE_LAYERS_ENCODER_LAYER_H_
#define ATTNSERVE_CORE_LAYERS_ENCODER_LAYER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dnnl/packed_linear.h"
#include "core/kernels/glu.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/layer_weights.h"
#include "core/layers/self_attention.h"
#include "core/model/encoder_model.h"

namespace attnserve::core {

// A layer's feed-forward: plain, down(activation(up(x))) with the activation
// fused into the up projection (FeedForward); or gated,
// down(GatedActivation(up(x))) with both halves in one up projection
// (GatedFeedForward; EncoderDims::intermediate_size must then be
// GatedIntermediateWidth).
struct FeedForwardKind {
  bool gated = false;
  LinearActivation activation = LinearActivation::kGeluErf;  // plain
  GluActivation glu = GluActivation::kGeluErf;               // gated
  GluActivatedHalf activated = GluActivatedHalf::kFirst;     // gated
};

// One layer over the batch, `layer` its index (EncoderBatch's per-layer
// attention, attention weights), `hooks` the architecture's (rotary, score
// bias).

// BERT's post-LN layer (also RoBERTa, MPNet, NomicBERT):
//   x = attention_norm(x + attention(x)); x = mlp_norm(x + mlp(x))
// x is the batch's states() (and states_bf16()); the layer writes it back,
// or to output() when `last`.
absl::Status PostLnEncoderLayer(const EncoderLayerWeights& weights,
                                const FeedForwardKind& mlp,
                                const SelfAttentionHooks& hooks, float norm_eps,
                                int64_t layer, bool last, EncoderBatch* batch);

// The pre-LN layer (ModernBERT):
//   x += attention(attention_norm(x)); x += mlp(mlp_norm(x))
// An empty attention_norm: the attention reads x itself. x is the batch's
// states(), updated in place (FP32; the norms write the BF16 inputs); the
// model's final norm follows the last layer.
absl::Status PreLnEncoderLayer(const EncoderLayerWeights& weights,
                               const FeedForwardKind& mlp,
                               const SelfAttentionHooks& hooks, float norm_eps,
                               int64_t layer, EncoderBatch* batch);

// EncoderModel::MultiHeadAttend on layers[inputs.layer] (MultiHeadAttendLayer)
// with the hooks Encode gives that layer: `hooks` holds one entry for every
// layer, or one for all. max_positions: the longest hidden or context the
// hooks' tables cover. A layer out of range is an error naming `layer`.
absl::StatusOr<AttentionOutputs> MultiHeadAttendEncoderLayer(
    absl::Span<const EncoderLayerWeights> layers, int64_t heads,
    absl::Span<const SelfAttentionHooks> hooks, int64_t max_positions,
    const MultiHeadAttendInputs& inputs);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_ENCODER_LAYER_H_
