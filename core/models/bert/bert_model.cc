#include "core/models/bert/bert_model.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/io/weight_source.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/encoder_layer.h"
#include "core/layers/layer_weights.h"
#include "core/layers/self_attention.h"
#include "core/model/model_files.h"
#include "core/model/sentence_transformers.h"

namespace attnserve::core {

absl::StatusOr<BertWeights> BuildBertWeights(const BertConfig& config,
                                             const WeightSource& source) {
  const int64_t hidden = config.hidden_size;
  const int64_t intermediate = config.intermediate_size;
  BertWeights w;
  ASSIGN_OR_RETURN(w.word_embeddings,
                   source.Get("embeddings.word_embeddings.weight",
                              {config.vocab_size, hidden}));
  ASSIGN_OR_RETURN(w.position_embeddings,
                   source.Get("embeddings.position_embeddings.weight",
                              {config.max_position_embeddings, hidden}));
  ASSIGN_OR_RETURN(w.token_type_embeddings,
                   source.Get("embeddings.token_type_embeddings.weight",
                              {config.type_vocab_size, hidden}));
  ASSIGN_OR_RETURN(w.embeddings_norm_gamma,
                   source.Get("embeddings.LayerNorm.weight", {hidden}));
  ASSIGN_OR_RETURN(w.embeddings_norm_beta,
                   source.Get("embeddings.LayerNorm.bias", {hidden}));
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = absl::StrCat("encoder.layer.", i, ".");
    const std::string self = p + "attention.self.";
    EncoderLayerWeights layer;
    ASSIGN_OR_RETURN(layer.qkv,
                     LoadStackedLinear(
                         source, {self + "query", self + "key", self + "value"},
                         hidden, hidden));
    ASSIGN_OR_RETURN(
        layer.attention_output,
        LoadLinear(source, p + "attention.output.dense", hidden, hidden));
    ASSIGN_OR_RETURN(
        layer.attention_norm,
        LoadNorm(source, p + "attention.output.LayerNorm", hidden));
    ASSIGN_OR_RETURN(layer.mlp_up, LoadLinear(source, p + "intermediate.dense",
                                              intermediate, hidden));
    ASSIGN_OR_RETURN(layer.mlp_down, LoadLinear(source, p + "output.dense",
                                                hidden, intermediate));
    ASSIGN_OR_RETURN(layer.mlp_norm,
                     LoadNorm(source, p + "output.LayerNorm", hidden));
    w.layers.push_back(std::move(layer));
  }
  return w;
}

ModelInfo BertModel::info() const {
  ModelInfo info;
  info.architecture = config.architecture;
  info.hidden_size = config.hidden_size;
  info.num_layers = config.num_layers;
  info.num_heads = config.num_heads;
  info.vocab_size = config.vocab_size;
  info.max_length = max_length;
  info.default_pooling = default_pooling;
  info.default_normalize = default_normalize;
  return info;
}

// BERT's layers, post-LN: x = LN(x + attention(x)); x = LN(x + mlp(x)).
absl::StatusOr<EncoderOutput> BertModel::Encode(
    const PackedBatch& batch, const EncodeOptions& options) const {
  EncoderDims dims;
  dims.hidden_size = config.hidden_size;
  dims.num_layers = config.num_layers;
  dims.num_heads = config.num_heads;
  dims.intermediate_size = config.intermediate_size;
  dims.vocab_size = config.vocab_size;
  dims.type_vocab_size = config.type_vocab_size;
  dims.max_length = config.max_length();
  ASSIGN_OR_RETURN(
      std::unique_ptr<EncoderBatch> run,
      EncoderBatch::Create(dims, batch, options,
                           std::vector<AttentionSpec>(config.num_layers)));
  const BertWeights& w = weights;
  EmbedTokens(w.word_embeddings, w.position_embeddings, config.position_offset,
              w.token_type_embeddings, w.embeddings_norm_gamma,
              w.embeddings_norm_beta, config.layer_norm_eps, run.get());
  FeedForwardKind mlp;
  mlp.activation = config.activation == Activation::kGeluErf
                       ? LinearActivation::kGeluErf
                       : LinearActivation::kGeluTanh;
  for (int64_t l = 0; l < config.num_layers; ++l) {
    RETURN_IF_ERROR(PostLnEncoderLayer(w.layers[l], mlp, SelfAttentionHooks(),
                                       config.layer_norm_eps, l,
                                       l + 1 == config.num_layers, run.get()));
  }
  return run->TakeOutput();
}

absl::StatusOr<AttentionOutputs> BertModel::MultiHeadAttend(
    const MultiHeadAttendInputs& inputs) const {
  const SelfAttentionHooks none;
  return MultiHeadAttendEncoderLayer(weights.layers, config.num_heads,
                                     {&none, 1}, max_length, inputs);
}

absl::StatusOr<std::shared_ptr<const BertModel>> LoadBertModel(
    const std::string& directory) {
  ASSIGN_OR_RETURN(const std::string dir, ModelDirectory(directory));
  ASSIGN_OR_RETURN(const std::string config_json, ReadModelConfig(dir));
  return LoadBertModelFromConfig(dir, config_json);
}

absl::StatusOr<std::shared_ptr<const BertModel>> LoadBertModelFromConfig(
    const std::string& dir, absl::string_view config_json) {
  auto model = std::make_shared<BertModel>();
  auto config = ParseBertConfig(config_json);
  if (!config.ok()) return ConfigError(dir, config.status());
  model->config = *config;
  model->max_length = config->max_length();
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsWeightSource> source,
                   OpenModelWeights(dir, "embeddings.word_embeddings.weight",
                                    {"bert.", "roberta."}));
  ASSIGN_OR_RETURN(model->weights, BuildBertWeights(model->config, *source));
  ModelInfo info = model->info();
  RETURN_IF_ERROR(ReadSentenceTransformersDefaults(dir, &info));
  model->default_pooling = info.default_pooling;
  model->default_normalize = info.default_normalize;
  return std::shared_ptr<const BertModel>(std::move(model));
}

}  // namespace attnserve::core
