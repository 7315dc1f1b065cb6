#include "server/infer/embed.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/attention/validate_attention.h"
#include "core/base/status_macros.h"
#include "server/infer/tasks.h"
#include "server/infer/tokenize.h"

namespace attnserve::server {
namespace {

absl::Status TooLong(absl::string_view field, size_t length,
                     int64_t max_length) {
  return absl::InvalidArgumentError(absl::StrCat(
      field, " has ", length,
      " tokens (special tokens included), more than the model's max "
      "length ",
      max_length, "; shorten it or set truncate"));
}

// Chunking: each text (after the prompt) encoded whole, then split into
// windows; every window is a sequence.
absl::Status CollectChunks(const EmbedRequest& request,
                           const ServedModel& model, absl::string_view prompt,
                           PreparedEncode* prepared) {
  core::ChunkingOptions options = *request.chunking;
  const size_t max_length = static_cast<size_t>(model.info.max_length);
  if (options.max_tokens == 0) options.max_tokens = max_length;
  if (options.max_tokens > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunking.max_tokens is ", options.max_tokens,
                     ", more than the model's max length ", max_length));
  }
  RETURN_IF_ERROR(core::CheckChunking(
      options, model.tokenizer->NumSpecialTokens(/*is_pair=*/false)));
  if (!request.token_ids.empty()) {
    return absl::InvalidArgumentError(
        "chunking is set with token_ids; chunking splits texts");
  }
  if (request.return_token_embeddings || !request.attention_layers.empty()) {
    return absl::InvalidArgumentError(
        "chunking is set with return_token_embeddings or attention_layers; "
        "chunked texts return pooled vectors only");
  }
  prepared->chunk_offsets.push_back(0);
  std::string prompted;
  for (size_t i = 0; i < request.texts.size(); ++i) {
    absl::string_view text = request.texts[i];
    if (!prompt.empty()) {
      prompted = absl::StrCat(prompt, text);
      text = prompted;
    }
    ASSIGN_OR_RETURN(
        core::tokenizers::Encoding encoding,
        EncodeText(model, text, absl::StrCat(request.texts_field, "[", i, "]"),
                   /*max_length=*/0));
    // Spans are in the caller's text: the prompt's bytes come off.
    const uint32_t shift = static_cast<uint32_t>(prompt.size());
    for (core::TextChunk& chunk : core::ChunkEncoding(encoding, options)) {
      prepared->chunk_spans.emplace_back(
          chunk.start > shift ? chunk.start - shift : 0,
          chunk.end > shift ? chunk.end - shift : 0);
      prepared->token_ids.push_back(std::move(chunk.ids));
    }
    prepared->chunk_offsets.push_back(prepared->token_ids.size());
  }
  return absl::OkStatus();
}

// Tokenizes `prompt` + each of `texts` (or checks `token_ids`) into one id
// list per sequence.
absl::Status CollectTokenIds(const EmbedRequest& request,
                             const ServedModel& model, absl::string_view prompt,
                             PreparedEncode* prepared) {
  std::vector<std::vector<int32_t>>* token_ids = &prepared->token_ids;
  const int64_t max_length = model.info.max_length;
  if (!request.texts.empty() && !request.token_ids.empty()) {
    return absl::InvalidArgumentError(
        "texts and token_ids are both set; set one of them");
  }
  if (request.texts.empty() && request.token_ids.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(request.texts_field, " is empty; set ",
                     request.texts_field, " or token_ids"));
  }
  token_ids->reserve(std::max(request.texts.size(), request.token_ids.size()));
  std::string prompted;
  if (request.chunking.has_value()) {
    return CollectChunks(request, model, prompt, prepared);
  }
  for (size_t i = 0; i < request.texts.size(); ++i) {
    const std::string field = absl::StrCat(request.texts_field, "[", i, "]");
    absl::string_view text = request.texts[i];
    if (!prompt.empty()) {
      prompted = absl::StrCat(prompt, text);
      text = prompted;
    }
    // An empty text is valid: it encodes to the special tokens alone
    // ([CLS] [SEP]), as sentence-transformers and HF tokenizers do.
    ASSIGN_OR_RETURN(
        core::tokenizers::Encoding ids,
        EncodeText(model, text, field,
                   request.truncate ? static_cast<size_t>(max_length) : 0));
    if (!request.truncate &&
        static_cast<int64_t>(ids.untruncated_length) > max_length) {
      return TooLong(field, ids.untruncated_length, max_length);
    }
    token_ids->push_back(std::move(ids.ids));
  }
  const int64_t vocab = model.info.vocab_size;
  for (size_t i = 0; i < request.token_ids.size(); ++i) {
    const absl::Span<const int32_t> ids = request.token_ids[i];
    const std::string field = absl::StrCat("token_ids[", i, "]");
    if (ids.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".ids is empty, expected token ids"));
    }
    for (size_t j = 0; j < ids.size(); ++j) {
      if (ids[j] < 0 || ids[j] >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".ids[", j, "] is ", ids[j],
                         ", expected an id in [0, ", vocab, ")"));
      }
    }
    if (static_cast<int64_t>(ids.size()) > max_length) {
      if (!request.truncate) return TooLong(field, ids.size(), max_length);
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

// The chunked texts' answers: per chunk the pooled vector, per text their
// token-weighted mean.
EmbedResult FinishChunks(const PreparedEncode& prepared,
                         const EncodeWork& work) {
  EmbedResult result;
  for (size_t i = 0; i + 1 < prepared.chunk_offsets.size(); ++i) {
    EmbedSequence& text = result.sequences.emplace_back();
    std::vector<double> sum;
    for (size_t s = prepared.chunk_offsets[i];
         s < prepared.chunk_offsets[i + 1]; ++s) {
      const core::Tensor& hidden = work.hidden[s];
      const int64_t length = hidden.dim(0);
      EmbedChunk& chunk = text.chunks.emplace_back();
      chunk.pooled = core::Pool(hidden, {0, length}, prepared.pooling);
      chunk.start = prepared.chunk_spans[s].first;
      chunk.end = prepared.chunk_spans[s].second;
      chunk.num_tokens = static_cast<uint32_t>(length);
      const float* pooled = chunk.pooled.data<float>();
      sum.resize(chunk.pooled.num_elements(), 0.0);
      for (size_t k = 0; k < sum.size(); ++k) {
        sum[k] += double(length) * pooled[k];
      }
      text.num_tokens += chunk.num_tokens;
      if (prepared.normalize) core::L2NormalizeRows(&chunk.pooled);
    }
    text.pooled = core::Tensor::Zeros(core::DType::kFP32,
                                      {1, static_cast<int64_t>(sum.size())});
    for (size_t k = 0; k < sum.size(); ++k) {
      text.pooled.data<float>()[k] = float(sum[k] / double(text.num_tokens));
    }
    if (prepared.normalize) core::L2NormalizeRows(&text.pooled);
    result.total_tokens += text.num_tokens;
  }
  return result;
}

}  // namespace

absl::StatusOr<absl::string_view> ResolvePrompt(const ServedModel& model,
                                                absl::string_view prompt_name) {
  const absl::string_view name =
      prompt_name.empty() ? absl::string_view(model.default_prompt_name)
                          : prompt_name;
  if (name.empty()) return absl::string_view();
  std::vector<absl::string_view> names;
  for (const auto& [key, prompt] : model.prompts) {
    if (key == name) return absl::string_view(prompt);
    names.push_back(key);
  }
  if (names.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prompt_name is \"", prompt_name, "\" but model \"", model.name,
        "\" has no prompts (config_sentence_transformers.json \"prompts\")"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "prompt_name is \"", prompt_name, "\", not a prompt of model \"",
      model.name, "\"; its prompt names: ", absl::StrJoin(names, ", ")));
}

absl::StatusOr<PreparedEncode> PrepareEmbed(const EmbedRequest& request,
                                            const ServedModel& model) {
  RETURN_IF_ERROR(CheckServes(model, "embed", "Encode"));
  PreparedEncode prepared;
  if (request.sparse) {
    RETURN_IF_ERROR(CheckServes(model, "sparse", "Encode with pooling SPLADE"));
    if (request.chunking.has_value()) {
      return absl::InvalidArgumentError(
          "chunking is set with pooling SPLADE; chunk dense poolings only");
    }
    prepared.sparse = model.masked_lm;
  }
  prepared.pooling = request.pooling.value_or(model.info.default_pooling);
  // An unset `normalize` cannot be told from false in proto3; the model's
  // sentence-transformers Normalize module turns normalisation on by default.
  prepared.normalize = request.normalize || model.info.default_normalize;
  prepared.return_token_embeddings = request.return_token_embeddings;
  prepared.options.compute_dtype = request.compute_dtype;

  const int64_t num_layers = model.info.num_layers;
  for (size_t i = 0; i < request.attention_layers.size(); ++i) {
    const int32_t layer = request.attention_layers[i];
    if (layer < -1 || layer >= num_layers) {
      return absl::InvalidArgumentError(
          absl::StrCat("attention_layers[", i, "] is ", layer,
                       ", expected -1 (the last) or 0..", num_layers - 1));
    }
    prepared.options.attention_layers.push_back(layer);
  }

  if (!request.prompt_name.empty() && !request.token_ids.empty()) {
    return absl::InvalidArgumentError(
        "prompt_name is set with token_ids; a prompt is prepended to texts, "
        "token ids are encoded as given");
  }
  absl::string_view prompt;
  if (!request.texts.empty()) {
    ASSIGN_OR_RETURN(prompt, ResolvePrompt(model, request.prompt_name));
  }
  RETURN_IF_ERROR(CollectTokenIds(request, model, prompt, &prepared));
  prepared.sequences_field =
      request.texts.empty() ? "token_ids" : std::string(request.texts_field);

  if (request.attention.has_value()) {
    const core::AttentionSpec& spec = *request.attention;
    RETURN_IF_ERROR(CheckAttentionScale(
        spec, model.info.hidden_size / model.info.num_heads));
    // Each sequence attends over itself: check the spec against each length.
    for (size_t i = 0; i < prepared.token_ids.size(); ++i) {
      absl::Status s =
          core::ValidateAttentionSpec(spec, prepared.token_ids[i].size());
      if (!s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            absl::StrReplaceAll(s.message(), {{"spec.", "attention."},
                                              {"key.shape[2]", "keys"}}),
            " (sequence ", i, ")"));
      }
    }
    prepared.options.attention = spec;
  }
  return prepared;
}

absl::StatusOr<EmbedResult> FinishEmbed(const PreparedEncode& prepared,
                                        const EncodeWork& work) {
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
  EmbedResult result;
  if (!prepared.chunk_offsets.empty()) return FinishChunks(prepared, work);
  result.sequences.reserve(work.hidden.size());
  for (size_t s = 0; s < work.hidden.size(); ++s) {
    const core::Tensor& hidden = work.hidden[s];
    const int64_t length = hidden.dim(0);
    result.total_tokens += static_cast<uint64_t>(length);
    EmbedSequence& sequence = result.sequences.emplace_back();
    sequence.num_tokens = static_cast<uint32_t>(length);
    if (prepared.sparse != nullptr) {
      ASSIGN_OR_RETURN(sequence.sparse, prepared.sparse->Splade(hidden));
    } else {
      sequence.pooled = core::Pool(hidden, {0, length}, prepared.pooling);
      if (prepared.normalize) core::L2NormalizeRows(&sequence.pooled);
    }
    if (prepared.return_token_embeddings) sequence.token_embeddings = hidden;
    sequence.attention = work.attention[s];
  }
  return result;
}

}  // namespace attnserve::server
