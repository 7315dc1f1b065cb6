#ifndef ATTNSERVE_CORE_MODELS_MPNET_MPNET_MODEL_H_
#define ATTNSERVE_CORE_MODELS_MPNET_MPNET_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/tensor.h"
#include "core/layers/layer_weights.h"
#include "core/layers/self_attention.h"
#include "core/model/encoder_model.h"
#include "core/models/mpnet/mpnet_config.h"

namespace attnserve::core {

// MPNet (transformers' modeling_mpnet.py, MPNetModel). What differs from
// BERT:
// - embeddings: word + position (position id = index + 2: padding_idx 1 + 1),
//   no token types
// - attention scores get a per-head bias from bucketed relative positions
//   (encoder.relative_attention_bias, 32 buckets), computed once and shared
//   by every layer: scores = q.k / sqrt(d) + bias[h, bucket(j - i)]
// - tensor names: attention.attn.{q,k,v,o}, attention.LayerNorm
// The layers are BERT's otherwise (post-LN, GELU feed-forward).
struct MpnetModel : EncoderModel {
  MpnetConfig config;
  Tensor word_embeddings, position_embeddings;
  Tensor embeddings_norm_gamma, embeddings_norm_beta;
  // attention.attn.{q,k,v,o}; attention_norm: attention.LayerNorm;
  // mlp_norm: output.LayerNorm.
  std::vector<EncoderLayerWeights> layers;
  // [heads, 2 * max_length - 1]: the bias of each key - query offset
  // (RelativePositionBiasByOffset).
  std::vector<float> bias_by_offset;
  ModelInfo model_info;

  ModelInfo info() const override { return model_info; }
  absl::StatusOr<EncoderOutput> Encode(
      const PackedBatch& batch, const EncodeOptions& options) const override;
  // The layer's projections around core::Attend with inputs.spec and the
  // relative position bias of the rows' positions (their indices).
  absl::StatusOr<AttentionOutputs> MultiHeadAttend(
      const MultiHeadAttendInputs& inputs) const override;
  // The relative position bias hook of Encode and MultiHeadAttend (a new
  // one per call: it keeps the bias of each length it was asked for).
  SelfAttentionHooks Hooks() const;
};

// The loader of model_type "mpnet": config.json, model.safetensors (names
// bare or "mpnet."-prefixed; pooler and LM head ignored), the
// sentence-transformers pooling files. Errors name the file and tensor.
absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadMpnetModel(
    const std::string& dir, absl::string_view config_json);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_MPNET_MPNET_MODEL_H_
