#include "core/model/heads/masked_lm_head.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/kernels/layer_norm.h"
#include "core/model/heads/classifier_head.h"
#include "core/model/model_files.h"
#include "core/models/bert/bert_config.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {

namespace {

// Where a family keeps its masked-LM head (HF's names) and how it computes.
struct HeadLayout {
  std::string transform;   // [hidden, hidden] dense (+ ".bias" if dense_bias)
  std::string norm;        // LayerNorm (+ ".bias" if norm_bias)
  std::string bias;        // [vocab] output bias, "" for none
  std::string decoder;     // [vocab, hidden], absent when tied
  std::string embeddings;  // the tied word embeddings (bare name)
  std::vector<std::string> prefixes;  // of the encoder's tensors
  bool dense_bias = true;
  bool norm_bias = true;
  LinearActivation activation = LinearActivation::kGeluErf;
  double eps = 1e-12;
};

absl::StatusOr<double> LayerNormEps(const nlohmann::json& config,
                                    double fallback) {
  const auto it = config.find("layer_norm_eps");
  if (it == config.end()) return fallback;
  if (!it->is_number() || !(it->get<double>() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: layer_norm_eps is ", it->dump(),
                     ", expected a number > 0"));
  }
  return it->get<double>();
}

// NOT_FOUND for a model_type without a masked-LM head here.
absl::StatusOr<HeadLayout> Layout(absl::string_view config_json) {
  const nlohmann::json config =
      nlohmann::json::parse(config_json.begin(), config_json.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::InvalidArgumentError("config.json: not a JSON object");
  }
  const auto type_it = config.find("model_type");
  const std::string type = type_it != config.end() && type_it->is_string()
                               ? type_it->get<std::string>()
                               : "bert";
  HeadLayout l;
  if (type == "bert") {
    // BertForMaskedLM: cls.predictions (BertPredictionHeadTransform:
    // dense, hidden_act, LayerNorm; decoder + bias).
    ASSIGN_OR_RETURN(const BertConfig bert, ParseBertConfig(config_json));
    l = {"cls.predictions.transform.dense",
         "cls.predictions.transform.LayerNorm",
         "cls.predictions.bias",
         "cls.predictions.decoder.weight",
         "embeddings.word_embeddings.weight",
         {"bert."}};
    l.activation = bert.activation == Activation::kGeluErf
                       ? LinearActivation::kGeluErf
                       : LinearActivation::kGeluTanh;
    l.eps = bert.layer_norm_eps;
  } else if (type == "roberta" || type == "xlm-roberta" ||
             type == "camembert" || type == "mpnet") {
    // RobertaLMHead / MPNetLMHead: dense, gelu (always erf), layer_norm,
    // decoder + bias.
    l = {"lm_head.dense",
         "lm_head.layer_norm",
         "lm_head.bias",
         "lm_head.decoder.weight",
         "embeddings.word_embeddings.weight",
         type == "mpnet" ? std::vector<std::string>{"mpnet."}
                         : std::vector<std::string>{"roberta.", "xlm-roberta.",
                                                    "camembert."}};
    ASSIGN_OR_RETURN(l.eps,
                     LayerNormEps(config, type == "mpnet" ? 1e-12 : 1e-5));
  } else if (type == "modernbert") {
    // ModernBertForMaskedLM: head (ModernBertPredictionHead: dense with
    // classifier_bias, classifier_activation, norm with norm_bias), then
    // decoder (bias when decoder_bias, default true).
    ASSIGN_OR_RETURN(const ClassifierConfig head,
                     ParseClassifierConfig(config_json));
    l = {"head.dense",
         "head.norm",
         "decoder.bias",
         "decoder.weight",
         "embeddings.tok_embeddings.weight",
         {"model."}};
    l.dense_bias = head.dense_bias;
    l.norm_bias = head.norm_bias;
    l.eps = head.norm_eps;
    if (head.activation == "gelu") {
      l.activation = LinearActivation::kGeluErf;
    } else if (head.activation == "gelu_new" ||
               head.activation == "gelu_pytorch_tanh") {
      l.activation = LinearActivation::kGeluTanh;
    } else if (head.activation == "silu" || head.activation == "swish") {
      l.activation = LinearActivation::kSilu;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "config.json: classifier_activation \"", head.activation,
          "\" is not supported by the masked-LM head (gelu, gelu_new, "
          "gelu_pytorch_tanh, silu)"));
    }
    const auto decoder_bias = config.find("decoder_bias");
    if (decoder_bias != config.end() && !decoder_bias->is_boolean()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json: decoder_bias is ", decoder_bias->dump(),
                       ", expected a boolean"));
    }
    if (decoder_bias != config.end() && !decoder_bias->get<bool>()) {
      l.bias.clear();
    }
  } else {
    return absl::NotFoundError(
        absl::StrCat("no masked-LM head for model_type \"", type, "\""));
  }
  return l;
}

}  // namespace

absl::StatusOr<std::unique_ptr<const MaskedLmHead>> MaskedLmHead::Load(
    const std::string& dir, absl::string_view config_json, int64_t hidden_size,
    int64_t vocab_size) {
  absl::StatusOr<HeadLayout> layout = Layout(config_json);
  if (absl::IsNotFound(layout.status())) return layout.status();
  if (!layout.ok()) return ConfigError(dir, layout.status());
  const HeadLayout& l = *layout;
  const int64_t h = hidden_size, v = vocab_size;
  ASSIGN_OR_RETURN(auto head,
                   OpenModelWeights(dir, l.transform + ".weight", {}));
  std::vector<std::string> needed = {l.transform + ".weight",
                                     l.norm + ".weight"};
  if (l.dense_bias) needed.push_back(l.transform + ".bias");
  if (l.norm_bias) needed.push_back(l.norm + ".bias");
  if (!l.bias.empty()) needed.push_back(l.bias);
  for (const std::string& name : needed) {
    if (!head->Contains(name)) {
      return absl::NotFoundError(
          absl::StrCat(dir, "model.safetensors has no masked-LM head tensor \"",
                       name, "\""));
    }
  }
  ASSIGN_OR_RETURN(auto encoder,
                   OpenModelWeights(dir, l.embeddings, l.prefixes));
  std::unique_ptr<MaskedLmHead> out(new MaskedLmHead());
  ASSIGN_OR_RETURN(Tensor dense_w, head->Get(l.transform + ".weight", {h, h}));
  Tensor dense_b;
  if (l.dense_bias) {
    ASSIGN_OR_RETURN(dense_b, head->Get(l.transform + ".bias", {h}));
  }
  ASSIGN_OR_RETURN(out->transform_, PackedLinear::Create(dense_w, dense_b));
  out->activation_ = l.activation;
  ASSIGN_OR_RETURN(out->norm_weight_, head->Get(l.norm + ".weight", {h}));
  if (l.norm_bias) {
    ASSIGN_OR_RETURN(out->norm_bias_, head->Get(l.norm + ".bias", {h}));
  }
  out->norm_eps_ = static_cast<float>(l.eps);
  // Tied: the decoder is the word embedding table unless stored separately.
  absl::StatusOr<Tensor> decoder_w = head->Contains(l.decoder)
                                         ? head->Get(l.decoder, {v, h})
                                         : encoder->Get(l.embeddings, {v, h});
  if (!decoder_w.ok()) return decoder_w.status();
  Tensor decoder_b(DType::kFP32, {v});
  if (l.bias.empty()) {
    std::fill(decoder_b.data<float>(), decoder_b.data<float>() + v, 0.0f);
  } else {
    ASSIGN_OR_RETURN(decoder_b, head->Get(l.bias, {v}));
  }
  out->vocab_size_ = v;
  for (int64_t begin = 0; begin < v; begin += kVocabTile) {
    const int64_t n = std::min(kVocabTile, v - begin);
    Tensor tile_w(DType::kFP32, {n, h});
    Tensor tile_b(DType::kFP32, {n});
    std::copy(decoder_w->data<float>() + begin * h,
              decoder_w->data<float>() + (begin + n) * h, tile_w.data<float>());
    std::copy(decoder_b.data<float>() + begin,
              decoder_b.data<float>() + begin + n, tile_b.data<float>());
    ASSIGN_OR_RETURN(PackedLinear tile, PackedLinear::Create(tile_w, tile_b));
    out->decoder_tiles_.push_back(std::move(tile));
  }
  return std::unique_ptr<const MaskedLmHead>(std::move(out));
}

absl::StatusOr<std::vector<SparseVector>> MaskedLmHead::Splade(
    const std::vector<Tensor>& hidden) const {
  const int64_t h = transform_.in_features(), v = vocab_size_;
  // Token t of the batch is row t - starts[s] of sequence s.
  std::vector<int64_t> starts = {0};
  for (const Tensor& states : hidden) {
    starts.push_back(starts.back() + states.dim(0));
  }
  const int64_t total = starts.back();
  // max over tokens of log(1 + relu(logit)) = log(1 + relu(max logit)):
  // both are monotone, so the reduction keeps the max logit per id (from 0:
  // relu). [sequences, vocab]
  std::vector<float> max_logit(hidden.size() * v, 0.0f);
  // logit * 0 per id, summed: NaN once any logit was NaN or infinite (the
  // max alone would drop a NaN).
  std::vector<float> probe(v, 0.0f);
  const int64_t padded = PaddedRows(std::min(kSpladeRows, total));
  std::vector<float> block(padded * h, 0.0f);      // [rows, h]
  std::vector<float> transformed(padded * h);      // [rows, h]
  std::vector<float> logits(padded * kVocabTile);  // [rows, tile]
  std::vector<int64_t> owner(kSpladeRows);         // row -> sequence
  size_t sequence = 0;
  for (int64_t begin = 0; begin < total; begin += kSpladeRows) {
    const int64_t n = std::min(kSpladeRows, total - begin);
    for (int64_t r = 0; r < n; ++r) {
      while (begin + r >= starts[sequence + 1]) ++sequence;
      owner[r] = int64_t(sequence);
      const float* row =
          hidden[sequence].data<float>() + (begin + r - starts[sequence]) * h;
      std::copy(row, row + h, block.begin() + r * h);
    }
    // [n, h] -> dense + activation -> LayerNorm -> [n, h]
    RETURN_IF_ERROR(transform_.Apply(DType::kFP32, block.data(), n,
                                     DType::kFP32, transformed.data(),
                                     activation_));
    AddLayerNorm(transformed.data(), nullptr, norm_weight_.data<float>(),
                 norm_bias_.empty() ? nullptr : norm_bias_.data<float>(),
                 norm_eps_, n, h, transformed.data(), nullptr);
    for (size_t t = 0; t < decoder_tiles_.size(); ++t) {
      const PackedLinear& tile = decoder_tiles_[t];
      const int64_t first = int64_t(t) * kVocabTile,
                    width = tile.out_features();
      // [n, h] -> [n, width], reduced into the owners' maxima by columns.
      RETURN_IF_ERROR(tile.Apply(DType::kFP32, transformed.data(), n,
                                 DType::kFP32, logits.data()));
      ParallelFor(width, [&](int64_t c0, int64_t c1) {
        float* check = probe.data() + first;
        for (int64_t r = 0; r < n; ++r) {
          const float* row = logits.data() + r * width;
          float* m = max_logit.data() + owner[r] * v + first;
          for (int64_t c = c0; c < c1; ++c) {
            m[c] = std::max(m[c], row[c]);
            check[c] += row[c] * 0.0f;
          }
        }
      });
    }
  }
  for (int64_t k = 0; k < v; ++k) {
    if (probe[k] != 0.0f) {
      return absl::InternalError(absl::StrCat(
          "the masked-LM logits of vocabulary id ", k,
          " are not finite (NaN or Inf); the model's weights or this input "
          "overflow FP32"));
    }
  }
  std::vector<SparseVector> out(hidden.size());
  for (size_t s = 0; s < hidden.size(); ++s) {
    const float* m = max_logit.data() + s * v;
    for (int64_t k = 0; k < v; ++k) {
      if (m[k] > 0) {
        out[s].indices.push_back(static_cast<uint32_t>(k));
        out[s].values.push_back(std::log1p(m[k]));
      }
    }
  }
  return out;
}

}  // namespace attnserve::core
