#ifndef ATTNSERVE_CORE_MODELS_NOMIC_BERT_NOMIC_BERT_MODEL_H_
#define ATTNSERVE_CORE_MODELS_NOMIC_BERT_NOMIC_BERT_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/tensor.h"
#include "core/kernels/rotary.h"
#include "core/layers/layer_weights.h"
#include "core/model/encoder_model.h"
#include "core/models/nomic_bert/nomic_bert_config.h"

namespace attnserve::core {

// NomicBERT (nomic's modeling_hf_nomic_bert.py, NomicBertModel with prenorm
// false, as nomic-embed-text). What differs from BERT:
// - embeddings: word + token type, no position table (rotary), emb_ln
// - attention: fused Wqkv ("(three h d)"), rotary (rotate_half, not
//   interleaved) on the first head_dim * rotary_emb_fraction dims of each Q
//   and K head with rotary_emb_base; out_proj
// - MLP: SwiGLU fc2(fc11(x) * silu(fc12(x))) (GeGLU with gelu), its width
//   rounded up to a multiple of 256; or fc2(gelu(fc1(x)))
// - biases only where qkv_proj_bias / mlp_fc1_bias / mlp_fc2_bias say
// - post-LN as BERT: x = norm1(x + attn(x)); x = norm2(x + mlp(x))
struct NomicBertModel : EncoderModel {
  NomicBertConfig config;
  Tensor word_embeddings;        // [vocab (rounded), hidden]
  Tensor token_type_embeddings;  // [type_vocab, hidden]; empty: no types
  Tensor emb_ln_gamma, emb_ln_beta;
  // attn.Wqkv, attn.out_proj; attention_norm: norm1; mlp_up: fc11 | fc12
  // stacked ([2 * inner, hidden]) or fc1; mlp_down: fc2; mlp_norm: norm2.
  std::vector<EncoderLayerWeights> layers;
  std::unique_ptr<RotaryTable> rotary;
  ModelInfo model_info;

  ModelInfo info() const override { return model_info; }
  absl::StatusOr<EncoderOutput> Encode(
      const PackedBatch& batch, const EncodeOptions& options) const override;
  // The layer's projections around core::Attend with inputs.spec, rotary
  // at the rows' positions (their indices).
  absl::StatusOr<AttentionOutputs> MultiHeadAttend(
      const MultiHeadAttendInputs& inputs) const override;
};

// The loader of model_type "nomic_bert": config.json, model.safetensors
// (names bare or "bert."-prefixed), the sentence-transformers pooling files.
// Errors name the file and tensor.
absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadNomicBertModel(
    const std::string& dir, absl::string_view config_json);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_NOMIC_BERT_NOMIC_BERT_MODEL_H_
