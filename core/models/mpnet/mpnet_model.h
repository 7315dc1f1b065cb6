#ifndef ATTNSERVE_CORE_MODELS_MPNET_MPNET_MODEL_H_
#define ATTNSERVE_CORE_MODELS_MPNET_MPNET_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/tensor.h"
#include "core/dnnl/packed_linear.h"
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
struct MpnetLayer {
  PackedLinear qkv;       // q, k, v fused: [hidden] -> [3 * hidden]
  PackedLinear attn_out;  // o
  Tensor attn_norm_gamma, attn_norm_beta;
  PackedLinear intermediate, output;
  Tensor output_norm_gamma, output_norm_beta;
};

struct MpnetModel : EncoderModel {
  MpnetConfig config;
  Tensor word_embeddings, position_embeddings;
  Tensor embeddings_norm_gamma, embeddings_norm_beta;
  std::vector<MpnetLayer> layers;
  // [heads, 2 * max_length - 1]: the bias of each key - query offset
  // (RelativePositionBiasByOffset).
  std::vector<float> bias_by_offset;
  ModelInfo model_info;

  ModelInfo info() const override { return model_info; }
  absl::StatusOr<EncoderOutput> Encode(
      const PackedBatch& batch, const EncodeOptions& options) const override;
  // The layer's projections around core::Attend with inputs.spec; no
  // position bias (the caller's hidden states carry no positions).
  absl::StatusOr<AttentionOutputs> MultiHeadAttend(
      const MultiHeadAttendInputs& inputs) const override;
};

// The loader of model_type "mpnet": config.json, model.safetensors (names
// bare or "mpnet."-prefixed; pooler and LM head ignored), the
// sentence-transformers pooling files. Errors name the file and tensor.
absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadMpnetModel(
    const std::string& dir, absl::string_view config_json);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_MPNET_MPNET_MODEL_H_
