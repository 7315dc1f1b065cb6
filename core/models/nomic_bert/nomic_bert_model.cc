#include "core/models/nomic_bert/nomic_bert_model.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/kernels/layer_norm.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/feed_forward.h"
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
  const int64_t tokens = run->tokens(), hidden = c.hidden_size;
  const int64_t heads = c.num_heads, head_dim = c.head_dim();
  const RotaryTable* table = rotary.get();
  SelfAttentionHooks hooks;
  hooks.rotary = [&](float* qkv, int64_t rows,
                     absl::Span<const int32_t> positions) {
    ParallelFor(rows, [&](int64_t begin, int64_t end) {
      table->Apply(qkv + begin * 3 * hidden, end - begin, 3 * hidden, 2 * heads,
                   head_dim, positions.data() + begin);
    });
  };
  const float eps = c.layer_norm_eps;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const NomicBertLayer& layer = layers[l];
    RETURN_IF_ERROR(
        SelfAttention(layer.qkv, layer.attn_out, hooks, l,
                      run->AsInput(run->states(), run->states_bf16()),
                      run.get(), run->projected()));
    AddLayerNorm(run->projected(), run->states(),
                 layer.norm1_gamma.data<float>(),
                 layer.norm1_beta.data<float>(), eps, tokens, hidden,
                 run->attended(), run->attended_bf16());
    const void* mlp_input = run->AsInput(run->attended(), run->attended_bf16());
    if (c.gated) {
      RETURN_IF_ERROR(GatedFeedForward(layer.mlp_in, layer.mlp_out,
                                       c.activation, GluActivatedHalf::kSecond,
                                       mlp_input, run.get(), run->projected()));
    } else {
      RETURN_IF_ERROR(FeedForward(layer.mlp_in, layer.mlp_out,
                                  LinearActivation::kGeluErf, mlp_input,
                                  run.get(), run->projected()));
    }
    const bool last = l + 1 == c.num_layers;
    AddLayerNorm(run->projected(), run->attended(),
                 layer.norm2_gamma.data<float>(),
                 layer.norm2_beta.data<float>(), eps, tokens, hidden,
                 last ? run->output() : run->states(),
                 last ? nullptr : run->states_bf16());
  }
  return run->TakeOutput();
}

absl::StatusOr<AttentionOutputs> NomicBertModel::MultiHeadAttend(
    const MultiHeadAttendInputs& inputs) const {
  if (inputs.layer < 0 || inputs.layer >= config.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("layer is ", inputs.layer,
                                                   ", expected a layer in [0, ",
                                                   config.num_layers, ")"));
  }
  const NomicBertLayer& layer = layers[inputs.layer];
  return MultiHeadAttendLayer(layer.qkv, layer.attn_out, config.num_heads,
                              inputs);
}

namespace {

// Concatenates two FP32 tensors along axis 0 (fc11 over fc12).
Tensor StackRows(const Tensor& a, const Tensor& b) {
  std::vector<int64_t> shape(a.shape().begin(), a.shape().end());
  shape[0] += b.dim(0);
  Tensor out(DType::kFP32, shape);
  std::memcpy(out.data<float>(), a.data<float>(), a.num_bytes());
  std::memcpy(out.data<float>() + a.num_elements(), b.data<float>(),
              b.num_bytes());
  return out;
}

}  // namespace

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
  // "<name>.weight" [out, in], and "<name>.bias" [out] when `bias` (an empty
  // Tensor otherwise).
  auto get = [&](const std::string& name, int64_t out, int64_t in, bool bias,
                 Tensor* weight, Tensor* b) -> absl::Status {
    ASSIGN_OR_RETURN(*weight, source->Get(name + ".weight", {out, in}));
    if (bias) {
      ASSIGN_OR_RETURN(*b, source->Get(name + ".bias", {out}));
    }
    return absl::OkStatus();
  };
  auto linear = [&](const std::string& name, int64_t out, int64_t in,
                    bool bias) -> absl::StatusOr<PackedLinear> {
    Tensor weight, b;
    RETURN_IF_ERROR(get(name, out, in, bias, &weight, &b));
    return PackedLinear::Create(weight, b);
  };
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
    NomicBertLayer layer;
    ASSIGN_OR_RETURN(layer.qkv, linear(p + "attn.Wqkv", 3 * hidden, hidden,
                                       c.qkv_proj_bias));
    ASSIGN_OR_RETURN(layer.attn_out, linear(p + "attn.out_proj", hidden, hidden,
                                            c.qkv_proj_bias));
    if (c.gated) {
      Tensor w11, b11, w12, b12;
      RETURN_IF_ERROR(
          get(p + "mlp.fc11", inner, hidden, c.mlp_fc1_bias, &w11, &b11));
      RETURN_IF_ERROR(
          get(p + "mlp.fc12", inner, hidden, c.mlp_fc1_bias, &w12, &b12));
      ASSIGN_OR_RETURN(layer.mlp_in,
                       PackedLinear::Create(
                           StackRows(w11, w12),
                           c.mlp_fc1_bias ? StackRows(b11, b12) : Tensor()));
    } else {
      ASSIGN_OR_RETURN(layer.mlp_in,
                       linear(p + "mlp.fc1", inner, hidden, c.mlp_fc1_bias));
    }
    ASSIGN_OR_RETURN(layer.mlp_out,
                     linear(p + "mlp.fc2", hidden, inner, c.mlp_fc2_bias));
    ASSIGN_OR_RETURN(layer.norm1_gamma,
                     source->Get(p + "norm1.weight", {hidden}));
    ASSIGN_OR_RETURN(layer.norm1_beta, source->Get(p + "norm1.bias", {hidden}));
    ASSIGN_OR_RETURN(layer.norm2_gamma,
                     source->Get(p + "norm2.weight", {hidden}));
    ASSIGN_OR_RETURN(layer.norm2_beta, source->Get(p + "norm2.bias", {hidden}));
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
