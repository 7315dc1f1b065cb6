#include "core/models/mpnet/mpnet_model.h"

#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/kernels/layer_norm.h"
#include "core/kernels/relative_position.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/layers/feed_forward.h"
#include "core/layers/self_attention.h"
#include "core/model/model_files.h"
#include "core/model/sentence_transformers.h"

namespace attnserve::core {

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
  // The bias of each length group, [1, heads, length, length], made once per
  // call and shared by the layers.
  const int64_t heads = c.num_heads, max_length = c.max_length();
  std::map<int64_t, Tensor> bias_of_length;
  SelfAttentionHooks hooks;
  hooks.score_bias = [&](int64_t length) {
    Tensor& bias = bias_of_length[length];
    if (!bias.empty()) return bias;
    bias = Tensor(DType::kFP32, {1, heads, length, length});
    const int64_t span = 2 * max_length - 1;
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < length; ++i) {
        std::memcpy(bias.data<float>() + (h * length + i) * length,
                    bias_by_offset.data() + h * span + (max_length - 1 - i),
                    length * sizeof(float));
      }
    }
    return bias;
  };
  const LinearActivation activation = c.activation == GluActivation::kGeluErf
                                          ? LinearActivation::kGeluErf
                                          : LinearActivation::kGeluTanh;
  const int64_t tokens = run->tokens(), hidden = c.hidden_size;
  const float eps = c.layer_norm_eps;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const MpnetLayer& layer = layers[l];
    RETURN_IF_ERROR(
        SelfAttention(layer.qkv, layer.attn_out, hooks, l,
                      run->AsInput(run->states(), run->states_bf16()),
                      run.get(), run->projected()));
    AddLayerNorm(run->projected(), run->states(),
                 layer.attn_norm_gamma.data<float>(),
                 layer.attn_norm_beta.data<float>(), eps, tokens, hidden,
                 run->attended(), run->attended_bf16());
    RETURN_IF_ERROR(
        FeedForward(layer.intermediate, layer.output, activation,
                    run->AsInput(run->attended(), run->attended_bf16()),
                    run.get(), run->projected()));
    const bool last = l + 1 == c.num_layers;
    AddLayerNorm(run->projected(), run->attended(),
                 layer.output_norm_gamma.data<float>(),
                 layer.output_norm_beta.data<float>(), eps, tokens, hidden,
                 last ? run->output() : run->states(),
                 last ? nullptr : run->states_bf16());
  }
  return run->TakeOutput();
}

absl::StatusOr<AttentionOutputs> MpnetModel::MultiHeadAttend(
    const MultiHeadAttendInputs& inputs) const {
  if (inputs.layer < 0 || inputs.layer >= config.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("layer is ", inputs.layer,
                                                   ", expected a layer in [0, ",
                                                   config.num_layers, ")"));
  }
  const MpnetLayer& layer = layers[inputs.layer];
  return MultiHeadAttendLayer(layer.qkv, layer.attn_out, config.num_heads,
                              inputs);
}

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
  auto linear = [&](const std::string& name, int64_t out,
                    int64_t in) -> absl::StatusOr<PackedLinear> {
    ASSIGN_OR_RETURN(Tensor weight, source->Get(name + ".weight", {out, in}));
    ASSIGN_OR_RETURN(Tensor bias, source->Get(name + ".bias", {out}));
    return PackedLinear::Create(weight, bias);
  };
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
    MpnetLayer layer;
    std::vector<Tensor> weights(3), biases(3);
    const char* names[3] = {"q", "k", "v"};
    for (int j = 0; j < 3; ++j) {
      const std::string name = absl::StrCat(p, "attention.attn.", names[j]);
      ASSIGN_OR_RETURN(weights[j],
                       source->Get(name + ".weight", {hidden, hidden}));
      ASSIGN_OR_RETURN(biases[j], source->Get(name + ".bias", {hidden}));
    }
    ASSIGN_OR_RETURN(layer.qkv, PackedLinear::Create(ConcatRows(weights),
                                                     ConcatRows(biases)));
    ASSIGN_OR_RETURN(layer.attn_out,
                     linear(p + "attention.attn.o", hidden, hidden));
    ASSIGN_OR_RETURN(layer.attn_norm_gamma,
                     source->Get(p + "attention.LayerNorm.weight", {hidden}));
    ASSIGN_OR_RETURN(layer.attn_norm_beta,
                     source->Get(p + "attention.LayerNorm.bias", {hidden}));
    ASSIGN_OR_RETURN(layer.intermediate,
                     linear(p + "intermediate.dense", inner, hidden));
    ASSIGN_OR_RETURN(layer.output, linear(p + "output.dense", hidden, inner));
    ASSIGN_OR_RETURN(layer.output_norm_gamma,
                     source->Get(p + "output.LayerNorm.weight", {hidden}));
    ASSIGN_OR_RETURN(layer.output_norm_beta,
                     source->Get(p + "output.LayerNorm.bias", {hidden}));
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
