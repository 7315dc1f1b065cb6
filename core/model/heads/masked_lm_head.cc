#include "core/model/heads/masked_lm_head.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/parallel.h"
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
                 norm_bias_.data<float>(), norm_eps_, n, h, transformed.data(),
                 nullptr);
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
