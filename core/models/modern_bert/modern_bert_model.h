#ifndef ATTNSERVE_CORE_MODELS_MODERN_BERT_MODERN_BERT_MODEL_H_
#define ATTNSERVE_CORE_MODELS_MODERN_BERT_MODERN_BERT_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/tensor.h"
#include "core/kernels/rotary.h"
#include "core/layers/layer_weights.h"
#include "core/layers/self_attention.h"
#include "core/model/encoder_model.h"
#include "core/models/modern_bert/modern_bert_config.h"

namespace attnserve::core {

// ModernBERT (transformers' modeling_modernbert.py, ModernBertModel). What
// differs from BERT:
// - embeddings: tok_embeddings then LayerNorm; no position or token type table
// - pre-norm layers: x += Wo(attn(attn_norm(x))); x += mlp(mlp_norm(x)); layer
//   0 has no attn_norm (nn.Identity); a final_norm after the last layer
// - rotary on all of each Q and K head, with global_rope_theta on the global
//   layers and local_rope_theta on the local ones
// - layer i is global when i % global_attn_every_n_layers == 0, else it sees
//   keys within local_attention / 2 positions on either side (core::Attend's
//   LOCAL scope)
// - GeGLU: input, gate = Wi(x).chunk(2); Wo(gelu(input) * gate)
// - no biases and bias-free LayerNorms unless the config says so
struct ModernBertModel : EncoderModel {
  ModernBertConfig config;
  Tensor tok_embeddings;  // [vocab, hidden]
  NormWeights embeddings_norm;
  // attn.Wqkv, attn.Wo; attention_norm: attn_norm (empty in layer 0);
  // mlp_up: mlp.Wi ([2 * inner, hidden]); mlp_down: mlp.Wo; mlp_norm:
  // mlp_norm. Norm betas and biases only where the config says.
  std::vector<EncoderLayerWeights> layers;
  NormWeights final_norm;
  std::unique_ptr<RotaryTable> global_rotary, local_rotary;
  ModelInfo model_info;

  ModelInfo info() const override { return model_info; }
  absl::StatusOr<EncoderOutput> Encode(
      const PackedBatch& batch, const EncodeOptions& options) const override;
  // The layer's projections around core::Attend with inputs.spec (not the
  // layer's local window: the request's spec), rotary with the layer's theta
  // at the rows' positions (their indices).
  absl::StatusOr<AttentionOutputs> MultiHeadAttend(
      const MultiHeadAttendInputs& inputs) const override;
  // Each layer's hooks: rotary with the global or the local table.
  std::vector<SelfAttentionHooks> Hooks() const;
};

// The loader of model_type "modernbert" (load_model.h): config.json,
// model.safetensors (names bare or "model."-prefixed, as
// ModernBertForMaskedLM stores them; head and decoder ignored), the
// sentence-transformers pooling files. Errors name the file and tensor.
absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadModernBertModel(
    const std::string& dir, absl::string_view config_json);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_MODERN_BERT_MODERN_BERT_MODEL_H_
