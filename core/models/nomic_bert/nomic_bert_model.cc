#include "core/models/nomic_bert/nomic_bert_model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/encoder_layer.h"
#include "core/layers/gated_feed_forward.h"
#include "core/layers/self_attention.h"
#include "core/model/model_files.h"
#include "core/model/sentence_transformers.h"

namespace attnserve::core {

absl::StatusOr<EncoderOutput> NomicBertModel::Encode(
    const PackedBatch& batch, const EncodeOptions& options) const {
  const NomicBertConfig& c = config;
  EncoderDims dims;
  dims.hidden_size = c.hidden_size;
  dims.num_layers = c.num_layers;
  dims.num_heads = c.num_heads;
  dims.intermediate_size =
      c.gated
          ? GatedIntermediateWidth(c.intermediate_size, options.compute_dtype)
          : c.intermediate_size;
  dims.vocab_size = c.vocab_size;
  dims.type_vocab_size = c.type_vocab_size;
  dims.max_length = c.max_position_embeddings;
  ASSIGN_OR_RETURN(
      std::unique_ptr<EncoderBatch> run,
      EncoderBatch::Create(dims, batch, options,
                           std::vector<AttentionSpec>(c.num_layers)));
  EmbedTokens(word_embeddings, Tensor(), 0, token_type_embeddings, emb_ln_gamma,
              emb_ln_beta, c.layer_norm_eps, run.get());
  const SelfAttentionHooks hooks =
      RotaryHooks(*rotary, c.num_heads, c.head_dim());
  FeedForwardKind mlp;
  mlp.gated = c.gated;
  mlp.activation = LinearActivation::kGeluErf;
  mlp.glu = c.activation;
  mlp.activated = GluActivatedHalf::kSecond;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    RETURN_IF_ERROR(PostLnEncoderLayer(layers[l], mlp, hooks, c.layer_norm_eps,
                                       l, l + 1 == c.num_layers, run.get()));
  }
  return run->TakeOutput();
}

absl::StatusOr<AttentionOutputs> NomicBertModel::MultiHeadAttend(
    const MultiHeadAttendInputs& inputs) const {
  const SelfAttentionHooks hooks =
      RotaryHooks(*rotary, config.num_heads, config.head_dim());
  return MultiHeadAttendEncoderLayer(layers, config.num_heads, {&hooks, 1},
                                     config.max_position_embeddings, inputs);
}

absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadNomicBertModel(
    const std::string& dir, absl::string_view config_json) {
  auto model = std::make_shared<NomicBertModel>();
  auto parsed = ParseNomicBertConfig(config_json);
  if (!parsed.ok()) return ConfigError(dir, parsed.status());
  const NomicBertConfig& c = model->config = *parsed;
  ASSIGN_OR_RETURN(
      std::unique_ptr<SafetensorsWeightSource> source,
      OpenModelWeights(dir, "embeddings.word_embeddings.weight", {"bert."}));
  const int64_t hidden = c.hidden_size, inner = c.intermediate_size;
  ASSIGN_OR_RETURN(
      model->word_embeddings,
      source->Get("embeddings.word_embeddings.weight", {c.vocab_size, hidden}));
  if (c.type_vocab_size > 0) {
    ASSIGN_OR_RETURN(model->token_type_embeddings,
                     source->Get("embeddings.token_type_embeddings.weight",
                                 {c.type_vocab_size, hidden}));
  }
  ASSIGN_OR_RETURN(model->emb_ln_gamma, source->Get("emb_ln.weight", {hidden}));
  ASSIGN_OR_RETURN(model->emb_ln_beta, source->Get("emb_ln.bias", {hidden}));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = absl::StrCat("encoder.layers.", l, ".");
    EncoderLayerWeights layer;
    ASSIGN_OR_RETURN(layer.qkv, LoadLinear(*source, p + "attn.Wqkv", 3 * hidden,
                                           hidden, c.qkv_proj_bias));
    ASSIGN_OR_RETURN(layer.attention_output,
                     LoadLinear(*source, p + "attn.out_proj", hidden, hidden,
                                c.qkv_proj_bias));
    ASSIGN_OR_RETURN(
        layer.mlp_up,
        c.gated ? LoadStackedLinear(*source, {p + "mlp.fc11", p + "mlp.fc12"},
                                    inner, hidden, c.mlp_fc1_bias)
                : LoadLinear(*source, p + "mlp.fc1", inner, hidden,
                             c.mlp_fc1_bias));
    ASSIGN_OR_RETURN(layer.mlp_down, LoadLinear(*source, p + "mlp.fc2", hidden,
                                                inner, c.mlp_fc2_bias));
    ASSIGN_OR_RETURN(layer.attention_norm,
                     LoadNorm(*source, p + "norm1", hidden));
    ASSIGN_OR_RETURN(layer.mlp_norm, LoadNorm(*source, p + "norm2", hidden));
    model->layers.push_back(std::move(layer));
  }
  ASSIGN_OR_RETURN(RotaryTable table,
                   RotaryTable::Create(c.rotary_dim, c.rotary_base,
                                       c.max_position_embeddings));
  model->rotary = std::make_unique<RotaryTable>(std::move(table));

  ModelInfo& info = model->model_info;
  info.architecture = c.architecture;
  info.hidden_size = hidden;
  info.num_layers = c.num_layers;
  info.num_heads = c.num_heads;
  info.vocab_size = c.vocab_size;
  info.max_length = c.max_position_embeddings;
  RETURN_IF_ERROR(ReadSentenceTransformersDefaults(dir, &info));
  return std::shared_ptr<const EncoderModel>(std::move(model));
}

}  // namespace attnserve::core
