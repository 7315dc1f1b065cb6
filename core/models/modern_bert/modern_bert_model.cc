#include "core/models/modern_bert/modern_bert_model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/kernels/layer_norm.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/gated_feed_forward.h"
#include "core/layers/self_attention.h"
#include "core/model/model_files.h"
#include "core/model/sentence_transformers.h"

namespace attnserve::core {
namespace {

// x[i] += y[i] for the rows of the residual stream.
void AddResidual(const float* y, int64_t rows, int64_t width, float* x) {
  ParallelFor(rows, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin * width; i < end * width; ++i) x[i] += y[i];
  });
}

const float* OrNull(const Tensor& t) {
  return t.empty() ? nullptr : t.data<float>();
}

}  // namespace

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
  EmbedTokens(tok_embeddings, Tensor(), 0, Tensor(), embeddings_norm_gamma,
              embeddings_norm_beta, c.norm_eps, run.get());
  const int64_t tokens = run->tokens(), hidden = c.hidden_size;
  const int64_t heads = c.num_heads, head_dim = c.head_dim();
  SelfAttentionHooks global_hooks, local_hooks;
  auto rotary = [&](const RotaryTable* table) {
    return [table, hidden, heads, head_dim](
               float* qkv, int64_t rows, absl::Span<const int32_t> positions) {
      ParallelFor(rows, [&](int64_t begin, int64_t end) {
        // Q and K heads are adjacent: 2 * heads heads from column 0.
        table->Apply(qkv + begin * 3 * hidden, end - begin, 3 * hidden,
                     2 * heads, head_dim, positions.data() + begin);
      });
    };
  };
  global_hooks.rotary = rotary(global_rotary.get());
  local_hooks.rotary = rotary(local_rotary.get());
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const ModernBertLayer& layer = layers[l];
    const void* attention_input =
        run->AsInput(run->states(), run->states_bf16());
    if (l > 0) {
      AddLayerNorm(run->states(), nullptr, layer.attn_norm_gamma.data<float>(),
                   OrNull(layer.attn_norm_beta), c.norm_eps, tokens, hidden,
                   run->attended(), run->attended_bf16());
      attention_input = run->AsInput(run->attended(), run->attended_bf16());
    }
    RETURN_IF_ERROR(
        SelfAttention(layer.qkv, layer.attn_out,
                      c.global_layer[l] ? global_hooks : local_hooks, l,
                      attention_input, run.get(), run->projected()));
    AddResidual(run->projected(), tokens, hidden, run->states());
    AddLayerNorm(run->states(), nullptr, layer.mlp_norm_gamma.data<float>(),
                 OrNull(layer.mlp_norm_beta), c.norm_eps, tokens, hidden,
                 run->attended(), run->attended_bf16());
    RETURN_IF_ERROR(GatedFeedForward(
        layer.mlp_in, layer.mlp_out, c.activation, GluActivatedHalf::kFirst,
        run->AsInput(run->attended(), run->attended_bf16()), run.get(),
        run->projected()));
    AddResidual(run->projected(), tokens, hidden, run->states());
  }
  AddLayerNorm(run->states(), nullptr, final_norm_gamma.data<float>(),
               OrNull(final_norm_beta), c.norm_eps, tokens, hidden,
               run->output(), nullptr);
  return run->TakeOutput();
}

absl::StatusOr<AttentionOutputs> ModernBertModel::MultiHeadAttend(
    const MultiHeadAttendInputs& inputs) const {
  if (inputs.layer < 0 || inputs.layer >= config.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("layer is ", inputs.layer,
                                                   ", expected a layer in [0, ",
                                                   config.num_layers, ")"));
  }
  const ModernBertLayer& layer = layers[inputs.layer];
  return MultiHeadAttendLayer(layer.qkv, layer.attn_out, config.num_heads,
                              inputs);
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
  // "<name>.weight" [out, in], and "<name>.bias" [out] when `bias`.
  auto linear = [&](const std::string& name, int64_t out, int64_t in,
                    bool bias) -> absl::StatusOr<PackedLinear> {
    ASSIGN_OR_RETURN(Tensor weight, source->Get(name + ".weight", {out, in}));
    Tensor b;
    if (bias) {
      ASSIGN_OR_RETURN(b, source->Get(name + ".bias", {out}));
    }
    return PackedLinear::Create(weight, b);
  };
  // A LayerNorm's weight, and its bias when norm_bias.
  auto norm = [&](const std::string& name, Tensor* gamma,
                  Tensor* beta) -> absl::Status {
    ASSIGN_OR_RETURN(*gamma, source->Get(name + ".weight", {hidden}));
    if (c.norm_bias) {
      ASSIGN_OR_RETURN(*beta, source->Get(name + ".bias", {hidden}));
    }
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(
      model->tok_embeddings,
      source->Get("embeddings.tok_embeddings.weight", {c.vocab_size, hidden}));
  RETURN_IF_ERROR(norm("embeddings.norm", &model->embeddings_norm_gamma,
                       &model->embeddings_norm_beta));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = absl::StrCat("layers.", l, ".");
    ModernBertLayer layer;
    if (l > 0) {
      RETURN_IF_ERROR(
          norm(p + "attn_norm", &layer.attn_norm_gamma, &layer.attn_norm_beta));
    }
    ASSIGN_OR_RETURN(layer.qkv, linear(p + "attn.Wqkv", 3 * hidden, hidden,
                                       c.attention_bias));
    ASSIGN_OR_RETURN(layer.attn_out,
                     linear(p + "attn.Wo", hidden, hidden, c.attention_bias));
    RETURN_IF_ERROR(
        norm(p + "mlp_norm", &layer.mlp_norm_gamma, &layer.mlp_norm_beta));
    ASSIGN_OR_RETURN(layer.mlp_in,
                     linear(p + "mlp.Wi", 2 * inner, hidden, c.mlp_bias));
    ASSIGN_OR_RETURN(layer.mlp_out,
                     linear(p + "mlp.Wo", hidden, inner, c.mlp_bias));
    model->layers.push_back(std::move(layer));
  }
  RETURN_IF_ERROR(
      norm("final_norm", &model->final_norm_gamma, &model->final_norm_beta));
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
