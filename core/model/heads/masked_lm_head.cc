#include "core/model/heads/masked_lm_head.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/kernels/layer_norm.h"
#include "core/model/model_files.h"
#include "core/models/bert/bert_config.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {

absl::StatusOr<std::unique_ptr<const MaskedLmHead>> MaskedLmHead::Load(
    const std::string& dir, absl::string_view config_json) {
  absl::StatusOr<BertConfig> config = ParseBertConfig(config_json);
  if (!config.ok()) return ConfigError(dir, config.status());
  const nlohmann::json json =
      nlohmann::json::parse(config_json.begin(), config_json.end(), nullptr,
                            /*allow_exceptions=*/false);
  const auto model_type = json.find("model_type");
  const bool bert = model_type == json.end() || !model_type->is_string() ||
                    model_type->get<std::string>() == "bert";
  // BERT: cls.predictions.*; the RoBERTa family: lm_head.* (gelu).
  const std::string transform =
      bert ? "cls.predictions.transform.dense" : "lm_head.dense";
  const std::string norm =
      bert ? "cls.predictions.transform.LayerNorm" : "lm_head.layer_norm";
  const std::string bias = bert ? "cls.predictions.bias" : "lm_head.bias";
  const std::string decoder =
      bert ? "cls.predictions.decoder.weight" : "lm_head.decoder.weight";

  const int64_t h = config->hidden_size, v = config->vocab_size;
  ASSIGN_OR_RETURN(auto head, OpenModelWeights(dir, transform + ".weight", {}));
  for (const std::string& name : {transform + ".weight", transform + ".bias",
                                  norm + ".weight", norm + ".bias", bias}) {
    if (!head->Contains(name)) {
      return absl::NotFoundError(
          absl::StrCat(dir, "model.safetensors has no masked-LM head tensor \"",
                       name, "\""));
    }
  }
  ASSIGN_OR_RETURN(
      auto encoder,
      OpenModelWeights(dir, "embeddings.word_embeddings.weight",
                       {"bert.", "roberta.", "xlm-roberta.", "camembert."}));
  std::unique_ptr<MaskedLmHead> out(new MaskedLmHead());
  ASSIGN_OR_RETURN(Tensor dense_w, head->Get(transform + ".weight", {h, h}));
  ASSIGN_OR_RETURN(Tensor dense_b, head->Get(transform + ".bias", {h}));
  ASSIGN_OR_RETURN(out->transform_, PackedLinear::Create(dense_w, dense_b));
  out->activation_ = !bert || config->activation == Activation::kGeluErf
                         ? LinearActivation::kGeluErf
                         : LinearActivation::kGeluTanh;
  ASSIGN_OR_RETURN(out->norm_weight_, head->Get(norm + ".weight", {h}));
  ASSIGN_OR_RETURN(out->norm_bias_, head->Get(norm + ".bias", {h}));
  out->norm_eps_ = config->layer_norm_eps;
  // Tied: the decoder is the word embedding table unless stored separately.
  absl::StatusOr<Tensor> decoder_w =
      head->Contains(decoder)
          ? head->Get(decoder, {v, h})
          : encoder->Get("embeddings.word_embeddings.weight", {v, h});
  if (!decoder_w.ok()) return decoder_w.status();
  ASSIGN_OR_RETURN(Tensor decoder_b, head->Get(bias, {v}));
  ASSIGN_OR_RETURN(out->decoder_, PackedLinear::Create(*decoder_w, decoder_b));
  return std::unique_ptr<const MaskedLmHead>(std::move(out));
}

absl::StatusOr<SparseVector> MaskedLmHead::Splade(const Tensor& hidden) const {
  const int64_t length = hidden.dim(0), h = hidden.dim(1);
  const int64_t v = vocab_size();
  // max over tokens of log(1 + relu(logit)) = log(1 + relu(max logit)):
  // both are monotone, so the reduction keeps the max logit per id.
  std::vector<float> max_logit(v, 0.0f);
  const int64_t rows = kSpladeRows;
  std::vector<float> transformed(PaddedRows(rows) * h);
  std::vector<float> logits(PaddedRows(rows) * v);
  for (int64_t begin = 0; begin < length; begin += rows) {
    const int64_t n = std::min(rows, length - begin);
    // [n, h] -> dense + activation -> LayerNorm -> [n, h] -> [n, v]
    std::vector<float> block(PaddedRows(n) * h, 0.0f);
    std::copy(hidden.data<float>() + begin * h,
              hidden.data<float>() + (begin + n) * h, block.begin());
    RETURN_IF_ERROR(transform_.Apply(DType::kFP32, block.data(), n,
                                     DType::kFP32, transformed.data(),
                                     activation_));
    AddLayerNorm(transformed.data(), nullptr, norm_weight_.data<float>(),
                 norm_bias_.data<float>(), norm_eps_, n, h, transformed.data(),
                 nullptr);
    RETURN_IF_ERROR(decoder_.Apply(DType::kFP32, transformed.data(), n,
                                   DType::kFP32, logits.data()));
    bool finite = true;
    for (int64_t r = 0; r < n; ++r) {
      const float* row = logits.data() + r * v;
      for (int64_t k = 0; k < v; ++k) {
        finite &= std::isfinite(row[k]);
        max_logit[k] = std::max(max_logit[k], row[k]);
      }
    }
    if (!finite) {
      return absl::InternalError(absl::StrCat(
          "the masked-LM logits of tokens ", begin, "..", begin + n - 1,
          " are not finite (NaN or Inf); the model's weights or this input "
          "overflow FP32"));
    }
  }
  SparseVector out;
  for (int64_t k = 0; k < v; ++k) {
    if (max_logit[k] > 0) {
      out.indices.push_back(static_cast<uint32_t>(k));
      out.values.push_back(std::log1p(max_logit[k]));
    }
  }
  return out;
}

}  // namespace attnserve::core
