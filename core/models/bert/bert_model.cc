#include "core/models/bert/bert_model.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/io/weight_source.h"
#include "core/kernels/layer_norm.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/feed_forward.h"
#include "core/layers/self_attention.h"
#include "core/model/model_files.h"
#include "core/model/sentence_transformers.h"

namespace attnserve::core {
namespace {

// Concatenates FP32 tensors along axis 0.
Tensor ConcatRows(const std::vector<Tensor>& parts) {
  std::vector<int64_t> shape(parts[0].shape().begin(), parts[0].shape().end());
  shape[0] = 0;
  for (const Tensor& p : parts) shape[0] += p.dim(0);
  Tensor out(DType::kFP32, shape);
  float* dst = out.data<float>();
  for (const Tensor& p : parts) {
    std::memcpy(dst, p.data<float>(), p.num_bytes());
    dst += p.num_elements();
  }
  return out;
}

}  // namespace

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

  // The packed linear map of "<name>.weight" [out, in] and "<name>.bias".
  auto linear = [&](const std::string& name, int64_t out,
                    int64_t in) -> absl::StatusOr<PackedLinear> {
    ASSIGN_OR_RETURN(Tensor weight, source.Get(name + ".weight", {out, in}));
    ASSIGN_OR_RETURN(Tensor bias, source.Get(name + ".bias", {out}));
    return PackedLinear::Create(weight, bias);
  };
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = absl::StrCat("encoder.layer.", i, ".");
    BertLayerWeights layer;
    std::vector<Tensor> qkv_weights(3), qkv_biases(3);
    const char* projections[3] = {"query", "key", "value"};
    for (int j = 0; j < 3; ++j) {
      const std::string name =
          absl::StrCat(p, "attention.self.", projections[j]);
      ASSIGN_OR_RETURN(qkv_weights[j],
                       source.Get(name + ".weight", {hidden, hidden}));
      ASSIGN_OR_RETURN(qkv_biases[j], source.Get(name + ".bias", {hidden}));
    }
    ASSIGN_OR_RETURN(layer.qkv, PackedLinear::Create(ConcatRows(qkv_weights),
                                                     ConcatRows(qkv_biases)));
    ASSIGN_OR_RETURN(layer.attention_output,
                     linear(p + "attention.output.dense", hidden, hidden));
    ASSIGN_OR_RETURN(
        layer.attention_norm_gamma,
        source.Get(p + "attention.output.LayerNorm.weight", {hidden}));
    ASSIGN_OR_RETURN(
        layer.attention_norm_beta,
        source.Get(p + "attention.output.LayerNorm.bias", {hidden}));
    ASSIGN_OR_RETURN(layer.intermediate,
                     linear(p + "intermediate.dense", intermediate, hidden));
    ASSIGN_OR_RETURN(layer.output,
                     linear(p + "output.dense", hidden, intermediate));
    ASSIGN_OR_RETURN(layer.output_norm_gamma,
                     source.Get(p + "output.LayerNorm.weight", {hidden}));
    ASSIGN_OR_RETURN(layer.output_norm_beta,
                     source.Get(p + "output.LayerNorm.bias", {hidden}));
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
  const LinearActivation activation = config.activation == Activation::kGeluErf
                                          ? LinearActivation::kGeluErf
                                          : LinearActivation::kGeluTanh;
  const int64_t tokens = run->tokens(), hidden = config.hidden_size;
  const float eps = config.layer_norm_eps;
  for (int64_t l = 0; l < config.num_layers; ++l) {
    const BertLayerWeights& layer = w.layers[l];
    RETURN_IF_ERROR(
        SelfAttention(layer.qkv, layer.attention_output, SelfAttentionHooks(),
                      l, run->AsInput(run->states(), run->states_bf16()),
                      run.get(), run->projected()));
    AddLayerNorm(run->projected(), run->states(),
                 layer.attention_norm_gamma.data<float>(),
                 layer.attention_norm_beta.data<float>(), eps, tokens, hidden,
                 run->attended(), run->attended_bf16());
    RETURN_IF_ERROR(
        FeedForward(layer.intermediate, layer.output, activation,
                    run->AsInput(run->attended(), run->attended_bf16()),
                    run.get(), run->projected()));
    // The last layer writes the result directly.
    const bool last = l + 1 == config.num_layers;
    AddLayerNorm(run->projected(), run->attended(),
                 layer.output_norm_gamma.data<float>(),
                 layer.output_norm_beta.data<float>(), eps, tokens, hidden,
                 last ? run->output() : run->states(),
                 last ? nullptr : run->states_bf16());
  }
  return run->TakeOutput();
}

absl::StatusOr<AttentionOutputs> BertModel::MultiHeadAttend(
    const MultiHeadAttendInputs& inputs) const {
  if (inputs.layer < 0 || inputs.layer >= config.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("layer is ", inputs.layer,
                                                   ", expected a layer in [0, ",
                                                   config.num_layers, ")"));
  }
  const BertLayerWeights& layer = weights.layers[inputs.layer];
  return MultiHeadAttendLayer(layer.qkv, layer.attention_output,
                              config.num_heads, inputs);
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
