#include "core/models/mpnet/mpnet_model.h"

#include <cstring>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/kernels/relative_position.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/encoder_layer.h"
#include "core/model/model_files.h"
#include "core/model/sentence_transformers.h"

namespace attnserve::core {

SelfAttentionHooks MpnetModel::Hooks() const {
  // The bias of each length pair, [1, heads, queries, keys], made once per
  // call and shared by the layers: query i against key j reads offset
  // j - i of bias_by_offset.
  const int64_t heads = config.num_heads, max_length = config.max_length();
  auto made = std::make_shared<std::map<std::pair<int64_t, int64_t>, Tensor>>();
  SelfAttentionHooks hooks;
  hooks.score_bias = [this, heads, max_length, made](int64_t queries,
                                                     int64_t keys) {
    Tensor& bias = (*made)[{queries, keys}];
    if (!bias.empty()) return bias;
    bias = Tensor(DType::kFP32, {1, heads, queries, keys});
    const int64_t span = 2 * max_length - 1;
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < queries; ++i) {
        std::memcpy(bias.data<float>() + (h * queries + i) * keys,
                    bias_by_offset.data() + h * span + (max_length - 1 - i),
                    keys * sizeof(float));
      }
    }
    return bias;
  };
  return hooks;
}

absl::StatusOr<EncoderOutput> MpnetModel::Encode(
    const PackedBatch& batch, const EncodeOptions& options) const {
  const MpnetConfig& c = config;
  EncoderDims dims;
  dims.hidden_size = c.hidden_size;
  dims.num_layers = c.num_layers;
  dims.num_heads = c.num_heads;
  dims.intermediate_size = c.intermediate_size;
  dims.vocab_size = c.vocab_size;
  dims.type_vocab_size = 0;
  dims.max_length = c.max_length();
  ASSIGN_OR_RETURN(
      std::unique_ptr<EncoderBatch> run,
      EncoderBatch::Create(dims, batch, options,
                           std::vector<AttentionSpec>(c.num_layers)));
  EmbedTokens(word_embeddings, position_embeddings,
              MpnetConfig::kPositionOffset, Tensor(), embeddings_norm_gamma,
              embeddings_norm_beta, c.layer_norm_eps, run.get());
  const SelfAttentionHooks hooks = Hooks();
  FeedForwardKind mlp;
  mlp.activation = c.activation == GluActivation::kGeluErf
                       ? LinearActivation::kGeluErf
                       : LinearActivation::kGeluTanh;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    RETURN_IF_ERROR(PostLnEncoderLayer(layers[l], mlp, hooks, c.layer_norm_eps,
                                       l, l + 1 == c.num_layers, run.get()));
  }
  return run->TakeOutput();
}

absl::StatusOr<AttentionOutputs> MpnetModel::MultiHeadAttend(
    const MultiHeadAttendInputs& inputs) const {
  const SelfAttentionHooks hooks = Hooks();
  return MultiHeadAttendEncoderLayer(layers, config.num_heads, {&hooks, 1},
                                     config.max_length(), inputs);
}

absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadMpnetModel(
    const std::string& dir, absl::string_view config_json) {
  auto model = std::make_shared<MpnetModel>();
  auto parsed = ParseMpnetConfig(config_json);
  if (!parsed.ok()) return ConfigError(dir, parsed.status());
  const MpnetConfig& c = model->config = *parsed;
  ASSIGN_OR_RETURN(
      std::unique_ptr<SafetensorsWeightSource> source,
      OpenModelWeights(dir, "embeddings.word_embeddings.weight", {"mpnet."}));
  const int64_t hidden = c.hidden_size, inner = c.intermediate_size;
  ASSIGN_OR_RETURN(
      model->word_embeddings,
      source->Get("embeddings.word_embeddings.weight", {c.vocab_size, hidden}));
  ASSIGN_OR_RETURN(model->position_embeddings,
                   source->Get("embeddings.position_embeddings.weight",
                               {c.max_position_embeddings, hidden}));
  ASSIGN_OR_RETURN(model->embeddings_norm_gamma,
                   source->Get("embeddings.LayerNorm.weight", {hidden}));
  ASSIGN_OR_RETURN(model->embeddings_norm_beta,
                   source->Get("embeddings.LayerNorm.bias", {hidden}));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = absl::StrCat("encoder.layer.", l, ".");
    const std::string attn = p + "attention.attn.";
    EncoderLayerWeights layer;
    ASSIGN_OR_RETURN(
        layer.qkv,
        LoadStackedLinear(*source, {attn + "q", attn + "k", attn + "v"}, hidden,
                          hidden));
    ASSIGN_OR_RETURN(layer.attention_output,
                     LoadLinear(*source, attn + "o", hidden, hidden));
    ASSIGN_OR_RETURN(layer.attention_norm,
                     LoadNorm(*source, p + "attention.LayerNorm", hidden));
    ASSIGN_OR_RETURN(layer.mlp_up, LoadLinear(*source, p + "intermediate.dense",
                                              inner, hidden));
    ASSIGN_OR_RETURN(layer.mlp_down,
                     LoadLinear(*source, p + "output.dense", hidden, inner));
    ASSIGN_OR_RETURN(layer.mlp_norm,
                     LoadNorm(*source, p + "output.LayerNorm", hidden));
    model->layers.push_back(std::move(layer));
  }
  ASSIGN_OR_RETURN(
      Tensor relative,
      source->Get("encoder.relative_attention_bias.weight",
                  {c.relative_attention_num_buckets, c.num_heads}));
  model->bias_by_offset = RelativePositionBiasByOffset(
      relative.data<float>(), c.num_heads, c.max_length());

  ModelInfo& info = model->model_info;
  info.architecture = c.architecture;
  info.hidden_size = hidden;
  info.num_layers = c.num_layers;
  info.num_heads = c.num_heads;
  info.vocab_size = c.vocab_size;
  info.max_length = c.max_length();
  RETURN_IF_ERROR(ReadSentenceTransformersDefaults(dir, &info));
  return std::shared_ptr<const EncoderModel>(std::move(model));
}

}  // namespace attnserve::core
