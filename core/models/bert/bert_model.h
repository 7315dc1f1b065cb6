#ifndef ATTNSERVE_CORE_MODELS_BERT_BERT_MODEL_H_
#define ATTNSERVE_CORE_MODELS_BERT_BERT_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/tensor.h"
#include "core/dnnl/packed_linear.h"
#include "core/io/weight_source.h"
#include "core/layers/layer_weights.h"
#include "core/model/encoder_model.h"
#include "core/model/pooling_type.h"
#include "core/models/bert/bert_config.h"

namespace attnserve::core {

struct BertWeights {
  Tensor word_embeddings;        // [vocab, hidden] FP32
  Tensor position_embeddings;    // [max_positions, hidden] FP32
  Tensor token_type_embeddings;  // [type_vocab, hidden] FP32
  Tensor embeddings_norm_gamma;  // [hidden]
  Tensor embeddings_norm_beta;   // [hidden]
  // attention_norm: attention.output.LayerNorm; mlp_norm: output.LayerNorm.
  std::vector<EncoderLayerWeights> layers;
};

// A loaded BERT-family encoder (Hugging Face BertModel): learned absolute
// positions and token types, post-LN layers, GELU feed-forward.
struct BertModel : EncoderModel {
  BertConfig config;
  BertWeights weights;
  // From sentence-transformers files (modules.json, 1_Pooling/config.json)
  // when present; else CLS and no normalisation.
  Pooling default_pooling = Pooling::kCls;
  bool default_normalize = false;
  // Longest accepted sequence, special tokens included:
  // max_position_embeddings (a tokenizer's model_max_length may lower it).
  int64_t max_length = 0;

  ModelInfo info() const override;
  absl::StatusOr<EncoderOutput> Encode(
      const PackedBatch& batch, const EncodeOptions& options) const override;
  absl::StatusOr<AttentionOutputs> MultiHeadAttend(
      const MultiHeadAttendInputs& inputs) const override;
};

// Builds packed weights from tensors in Hugging Face BertModel layout. Every
// tensor's shape is checked against `config` (WeightSource::Get); errors name
// the tensor and the expected and actual shapes.
absl::StatusOr<BertWeights> BuildBertWeights(const BertConfig& config,
                                             const WeightSource& source);

// Loads a Hugging Face model directory: config.json, model.safetensors
// (tensor names bare or "bert."-prefixed; F32, F16 or BF16; pooler and MLM
// head ignored), and the sentence-transformers modules.json /
// 1_Pooling/config.json when present. Errors name the file.
absl::StatusOr<std::shared_ptr<const BertModel>> LoadBertModel(
    const std::string& directory);

// LoadBertModel's work once the directory is checked (`dir` ends in '/') and
// its config.json read: the loader of model_type "bert" (load_model.h).
absl::StatusOr<std::shared_ptr<const BertModel>> LoadBertModelFromConfig(
    const std::string& dir, absl::string_view config_json);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_BERT_BERT_MODEL_H_
