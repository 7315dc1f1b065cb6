#include "core/models/modern_bert/modern_bert_model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/kernels/layer_norm.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/encoder_layer.h"
#include "core/layers/gated_feed_forward.h"
#include "core/model/model_files.h"
#include "core/model/sentence_transformers.h"

namespace attnserve::core {

std::vector<SelfAttentionHooks> ModernBertModel::Hooks() const {
  const int64_t heads = config.num_heads, head_dim = config.head_dim();
  const SelfAttentionHooks global =
      RotaryHooks(*global_rotary, heads, head_dim);
  const SelfAttentionHooks local = RotaryHooks(*local_rotary, heads, head_dim);
  std::vector<SelfAttentionHooks> hooks;
  for (int64_t l = 0; l < config.num_layers; ++l) {
    hooks.push_back(config.global_layer[l] ? global : local);
  }
  return hooks;
}

absl::StatusOr<EncoderOutput> ModernBertModel::Encode(
    const PackedBatch& batch, const EncodeOptions& options) const {
  const ModernBertConfig& c = config;
  EncoderDims dims;
  dims.hidden_size = c.hidden_size;
  dims.num_layers = c.num_layers;
  dims.num_heads = c.num_heads;
  dims.intermediate_size =
      GatedIntermediateWidth(c.intermediate_size, options.compute_dtype);
  dims.vocab_size = c.vocab_size;
  dims.type_vocab_size = 0;
  dims.max_length = c.max_position_embeddings;
  std::vector<AttentionSpec> attention(c.num_layers);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    if (c.global_layer[l]) continue;
    attention[l].scope = AttentionSpec::Scope::kLocal;
    attention[l].window_left = uint32_t(c.window_half());
    attention[l].window_right = uint32_t(c.window_half());
  }
  ASSIGN_OR_RETURN(std::unique_ptr<EncoderBatch> run,
                   EncoderBatch::Create(dims, batch, options, attention));
  EmbedTokens(tok_embeddings, Tensor(), 0, Tensor(), embeddings_norm.gamma,
              embeddings_norm.beta, c.norm_eps, run.get());
  const std::vector<SelfAttentionHooks> hooks = Hooks();
  FeedForwardKind mlp;
  mlp.gated = true;
  mlp.glu = c.activation;
  mlp.activated = GluActivatedHalf::kFirst;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    RETURN_IF_ERROR(
        PreLnEncoderLayer(layers[l], mlp, hooks[l], c.norm_eps, l, run.get()));
  }
  AddLayerNorm(run->states(), nullptr, final_norm.gamma.data<float>(),
               final_norm.beta_or_null(), c.norm_eps, run->tokens(),
               c.hidden_size, run->output(), nullptr);
  return run->TakeOutput();
}

absl::StatusOr<AttentionOutputs> ModernBertModel::MultiHeadAttend(
    const MultiHeadAttendInputs& inputs) const {
  return MultiHeadAttendEncoderLayer(layers, config.num_heads, Hooks(),
                                     config.max_position_embeddings, inputs);
}

absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadModernBertModel(
    const std::string& dir, absl::string_view config_json) {
  auto model = std::make_shared<ModernBertModel>();
  auto parsed = ParseModernBertConfig(config_json);
  if (!parsed.ok()) return ConfigError(dir, parsed.status());
  const ModernBertConfig& c = model->config = *parsed;
  ASSIGN_OR_RETURN(
      std::unique_ptr<SafetensorsWeightSource> source,
      OpenModelWeights(dir, "embeddings.tok_embeddings.weight", {"model."}));
  const int64_t hidden = c.hidden_size, inner = c.intermediate_size;
  ASSIGN_OR_RETURN(
      model->tok_embeddings,
      source->Get("embeddings.tok_embeddings.weight", {c.vocab_size, hidden}));
  ASSIGN_OR_RETURN(model->embeddings_norm,
                   LoadNorm(*source, "embeddings.norm", hidden, c.norm_bias));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = absl::StrCat("layers.", l, ".");
    EncoderLayerWeights layer;
    if (l > 0) {
      ASSIGN_OR_RETURN(layer.attention_norm,
                       LoadNorm(*source, p + "attn_norm", hidden, c.norm_bias));
    }
    ASSIGN_OR_RETURN(layer.qkv, LoadLinear(*source, p + "attn.Wqkv", 3 * hidden,
                                           hidden, c.attention_bias));
    ASSIGN_OR_RETURN(
        layer.attention_output,
        LoadLinear(*source, p + "attn.Wo", hidden, hidden, c.attention_bias));
    ASSIGN_OR_RETURN(layer.mlp_norm,
                     LoadNorm(*source, p + "mlp_norm", hidden, c.norm_bias));
    ASSIGN_OR_RETURN(layer.mlp_up, LoadLinear(*source, p + "mlp.Wi", 2 * inner,
                                              hidden, c.mlp_bias));
    ASSIGN_OR_RETURN(layer.mlp_down, LoadLinear(*source, p + "mlp.Wo", hidden,
                                                inner, c.mlp_bias));
    model->layers.push_back(std::move(layer));
  }
  ASSIGN_OR_RETURN(model->final_norm,
                   LoadNorm(*source, "final_norm", hidden, c.norm_bias));
  ASSIGN_OR_RETURN(RotaryTable global,
                   RotaryTable::Create(c.head_dim(), c.global_rope_theta,
                                       c.max_position_embeddings));
  ASSIGN_OR_RETURN(RotaryTable local,
                   RotaryTable::Create(c.head_dim(), c.local_rope_theta,
                                       c.max_position_embeddings));
  model->global_rotary = std::make_unique<RotaryTable>(std::move(global));
  model->local_rotary = std::make_unique<RotaryTable>(std::move(local));

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
