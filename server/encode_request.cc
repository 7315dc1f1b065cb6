#include "server/encode_request.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/attention/attention.h"
#include "core/attention/validate_attention.h"
#include "server/proto_convert.h"

namespace attnserve::server {
namespace {

absl::StatusOr<core::Pooling> PoolingFromProto(const v1::EncodeRequest& request,
                                               const ServedModel& model) {
  switch (request.pooling()) {
    case v1::POOLING_UNSPECIFIED:
      return model.model->default_pooling;
    case v1::CLS:
      return core::Pooling::kCls;
    case v1::MEAN:
      return core::Pooling::kMean;
    case v1::MAX:
      return core::Pooling::kMax;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("pooling is ", static_cast<int>(request.pooling()),
                       ", expected CLS, MEAN or MAX"));
  }
}

absl::Status TooLong(absl::string_view field, size_t length,
                     int64_t max_length) {
  return absl::InvalidArgumentError(absl::StrCat(
      field, " has ", length,
      " tokens (special tokens included), more than the model's max "
      "length ",
      max_length, "; shorten it or set truncate"));
}

// Tokenizes `texts` (or checks `token_ids`) into one id list per sequence.
absl::Status CollectTokenIds(const v1::EncodeRequest& request,
                             const ServedModel& model,
                             std::vector<std::vector<int32_t>>* token_ids) {
  const int64_t max_length = model.max_length;
  if (request.texts_size() > 0 && request.token_ids_size() > 0) {
    return absl::InvalidArgumentError(
        "texts and token_ids are both set; set one of them");
  }
  if (request.texts_size() == 0 && request.token_ids_size() == 0) {
    return absl::InvalidArgumentError("texts is empty; set texts or token_ids");
  }
  token_ids->reserve(std::max(request.texts_size(), request.token_ids_size()));
  core::tokenizers::EncodeOptions options;
  if (request.truncate()) options.max_length = static_cast<size_t>(max_length);
  for (int i = 0; i < request.texts_size(); ++i) {
    const std::string field = absl::StrCat("texts[", i, "]");
    // An empty text is valid: it encodes to the special tokens alone
    // ([CLS] [SEP]), as sentence-transformers and HF tokenizers do.
    absl::StatusOr<core::tokenizers::Encoding> ids =
        model.tokenizer->Encode(request.texts(i), options);
    if (!ids.ok()) {
      return absl::Status(ids.status().code(),
                          absl::StrCat(field, ": ", ids.status().message()));
    }
    if (!request.truncate() &&
        static_cast<int64_t>(ids->untruncated_length) > max_length) {
      return TooLong(field, ids->untruncated_length, max_length);
    }
    token_ids->push_back(std::move(ids->ids));
  }
  const int64_t vocab = model.model->config.vocab_size;
  for (int i = 0; i < request.token_ids_size(); ++i) {
    const auto& ids = request.token_ids(i).ids();
    const std::string field = absl::StrCat("token_ids[", i, "]");
    if (ids.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".ids is empty, expected token ids"));
    }
    for (int j = 0; j < ids.size(); ++j) {
      if (ids[j] < 0 || ids[j] >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".ids[", j, "] is ", ids[j],
                         ", expected an id in [0, ", vocab, ")"));
      }
    }
    if (ids.size() > max_length) {
      if (!request.truncate()) return TooLong(field, ids.size(), max_length);
      // Keep the end token ([SEP]) as the tokenizer's truncation does.
      std::vector<int32_t> cut(ids.begin(), ids.begin() + max_length);
      cut.back() = ids[ids.size() - 1];
      token_ids->push_back(std::move(cut));
    } else {
      token_ids->emplace_back(ids.begin(), ids.end());
    }
  }
  return absl::OkStatus();
}

// Attention scores are scale * q.k over head_dim products: a scale whose
// scores overflow FP32 even for query and key elements of magnitude 1 cannot
// work (the same bound Attend puts on its inputs, FP32 range / 4).
absl::Status CheckAttentionScale(const core::AttentionSpec& spec,
                                 int64_t head_dim) {
  const double limit = std::numeric_limits<float>::max() / 4;
  const double scores = std::fabs(double(spec.scale)) * double(head_dim);
  if (scores <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("attention.scale is ", spec.scale,
                   ": scores scale * q.k over head_dim ", head_dim,
                   " would overflow FP32 even for elements of magnitude 1, "
                   "expected |attention.scale| <= ",
                   limit / double(head_dim)));
}

// True when every element of `t` (FP32) is finite.
bool AllFinite(const core::Tensor& t) {
  const float* p = t.data<float>();
  bool finite = true;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    finite &= std::isfinite(p[i]);
  }
  return finite;
}

}  // namespace

absl::StatusOr<PreparedEncode> PrepareEncode(const v1::EncodeRequest& request,
                                             const ServedModel& model) {
  PreparedEncode prepared;
  absl::StatusOr<core::Pooling> pooling = PoolingFromProto(request, model);
  if (!pooling.ok()) return pooling.status();
  prepared.pooling = *pooling;
  // An unset `normalize` cannot be told from false in proto3; the model's
  // sentence-transformers Normalize module turns normalisation on by default.
  prepared.normalize = request.normalize() || model.model->default_normalize;
  prepared.return_token_embeddings = request.return_token_embeddings();

  absl::StatusOr<core::DType> dtype =
      ComputeDTypeFromProto(request.compute_dtype(), "compute_dtype");
  if (!dtype.ok()) return dtype.status();
  prepared.options.compute_dtype = *dtype;

  const int64_t num_layers = model.model->config.num_layers;
  for (int i = 0; i < request.attention_layers_size(); ++i) {
    const int32_t layer = request.attention_layers(i);
    if (layer < -1 || layer >= num_layers) {
      return absl::InvalidArgumentError(
          absl::StrCat("attention_layers[", i, "] is ", layer,
                       ", expected -1 (the last) or 0..", num_layers - 1));
    }
    prepared.options.attention_layers.push_back(layer);
  }

  if (absl::Status s = CollectTokenIds(request, model, &prepared.token_ids);
      !s.ok())
    return s;
  if (request.texts_size() == 0) prepared.sequences_field = "token_ids";

  if (request.has_attention()) {
    absl::StatusOr<core::AttentionSpec> spec =
        SpecFromProto(request.attention(), "attention");
    if (!spec.ok()) return spec.status();
    if (absl::Status s =
            CheckAttentionScale(*spec, model.model->config.head_dim());
        !s.ok()) {
      return s;
    }
    // Each sequence attends over itself: check the spec against each length.
    for (size_t i = 0; i < prepared.token_ids.size(); ++i) {
      absl::Status s =
          core::ValidateAttentionSpec(*spec, prepared.token_ids[i].size());
      if (!s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            absl::StrReplaceAll(s.message(), {{"spec.", "attention."},
                                              {"key.shape[2]", "keys"}}),
            " (sequence ", i, ")"));
      }
    }
    prepared.options.attention = *std::move(spec);
  }
  return prepared;
}

absl::Status FillEncodeResponse(const PreparedEncode& prepared,
                                const EncodeWork& work,
                                const ServedModel& model,
                                v1::EncodeResponse* response) {
  // The last line of defence: one pass over the results before answering.
  for (size_t s = 0; s < work.hidden.size(); ++s) {
    bool finite = AllFinite(work.hidden[s]);
    for (const core::Tensor& map : work.attention[s]) finite &= AllFinite(map);
    if (finite) continue;
    if (prepared.options.attention.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attention.scale is ", prepared.options.attention->scale,
          ": with this attention spec the encoder's attention overflowed FP32 "
          "for ",
          prepared.sequences_field, "[", s,
          "] (its result is not finite); use a smaller |attention.scale|"));
    }
    return absl::InternalError(absl::StrCat(
        "the encoder's result for ", prepared.sequences_field, "[", s,
        "] is not finite (NaN or Inf); the model's weights or this input "
        "overflow FP32"));
  }
  response->set_model(model.name);
  uint64_t total_tokens = 0;
  for (size_t s = 0; s < work.hidden.size(); ++s) {
    const core::Tensor& hidden = work.hidden[s];
    const int64_t length = hidden.dim(0);
    total_tokens += static_cast<uint64_t>(length);
    v1::Embedding* embedding = response->add_embeddings();
    embedding->set_num_tokens(static_cast<uint32_t>(length));
    core::Tensor pooled = core::Pool(hidden, {0, length}, prepared.pooling);
    if (prepared.normalize) core::L2NormalizeRows(&pooled);
    embedding->mutable_pooled()->Add(
        pooled.data<float>(), pooled.data<float>() + pooled.num_elements());
    if (prepared.return_token_embeddings) {
      TensorToProto(hidden, embedding->mutable_token_embeddings());
    }
    for (const core::Tensor& map : work.attention[s]) {
      TensorToProto(map, embedding->add_attention());
    }
  }
  response->set_total_tokens(total_tokens);
  return absl::OkStatus();
}

}  // namespace attnserve::server
