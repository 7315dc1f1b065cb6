#include "core/tokenizer/tokenizer.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/tokenizer/decoders/wordpiece.h"
#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {
namespace {

absl::Status CheckText(std::string_view text) {
  if (text.size() > UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "text is ", text.size(), " bytes, expected at most ", UINT32_MAX));
  }
  if (const int64_t bad = FirstInvalidUtf8(text); bad >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid UTF-8 at byte offset ", bad));
  }
  return absl::OkStatus();
}

// HF's truncate_encodings with LongestFirst, right side, no stride.
void TruncateLongestFirst(std::vector<EncodingPart>* parts, size_t max_length) {
  Encoding& first = (*parts)[0].encoding;
  if (parts->size() == 1) {
    first.Truncate(max_length);
    return;
  }
  Encoding& second = (*parts)[1].encoding;
  const size_t total = first.size() + second.size();
  if (total <= max_length) return;
  size_t n1 = first.size();
  size_t n2 = second.size();
  const bool swap = n1 > n2;
  if (swap) std::swap(n1, n2);
  if (n1 > max_length) {
    n2 = n1;
  } else {
    n2 = std::max(n1, max_length - n1);
  }
  if (n1 + n2 > max_length) {
    n1 = max_length / 2;
    n2 = n1 + max_length % 2;
  }
  if (swap) std::swap(n1, n2);
  first.Truncate(n1);
  second.Truncate(n2);
}

}  // namespace

Tokenizer::Tokenizer(TokenizerParts parts) : parts_(std::move(parts)) {
  added_vocabulary_ =
      AddedVocabulary(std::move(parts_.added_tokens), parts_.normalizer.get());
  parts_.added_tokens.clear();
  vocab_size_ = parts_.model->VocabSize();
  for (const AddedToken& token : added_vocabulary_.tokens()) {
    vocab_size_ = std::max(vocab_size_, static_cast<size_t>(token.id) + 1);
  }
}

size_t Tokenizer::NumSpecialTokens(bool is_pair) const {
  return parts_.post_processor ? parts_.post_processor->AddedTokens(is_pair)
                               : 0;
}

absl::StatusOr<Encoding> Tokenizer::EncodeSequence(std::string_view text,
                                                   uint32_t type_id,
                                                   int8_t sequence_id,
                                                   size_t limit) const {
  if (absl::Status s = CheckText(text); !s.ok()) return s;
  PreTokenizedText pre_tokenized =
      added_vocabulary_.ExtractAndNormalize(text, parts_.normalizer.get());
  if (parts_.pre_tokenizer) parts_.pre_tokenizer->PreTokenize(&pre_tokenized);
  Encoding encoding;
  std::vector<ModelToken> tokens;
  for (PreTokenizedText::Split& split : pre_tokenized.splits) {
    // Splits tokenized already (added tokens) count but never stop it.
    const bool tokenized_here = !split.tokens.has_value();
    if (tokenized_here) {
      tokens.clear();
      if (absl::Status s =
              parts_.model->Tokenize(split.normalized.get(), &tokens);
          !s.ok()) {
        return s;
      }
      split.tokens = std::move(tokens);
    }
    for (ModelToken& token : *split.tokens) {
      const auto [start, end] =
          split.normalized.OriginalSpan(token.start, token.end);
      encoding.ids.push_back(token.id);
      encoding.tokens.push_back(std::move(token.value));
      encoding.offsets.push_back(
          {static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
    }
    if (limit > 0 && tokenized_here && encoding.ids.size() >= limit) break;
  }
  encoding.type_ids.assign(encoding.ids.size(), type_id);
  encoding.special_tokens_mask.assign(encoding.ids.size(), 0);
  encoding.sequence_ids.assign(encoding.ids.size(), sequence_id);
  return encoding;
}

absl::StatusOr<Encoding> Tokenizer::PostProcess(
    std::vector<EncodingPart> parts, const EncodeOptions& options) const {
  const bool is_pair = parts.size() == 2;
  const size_t added =
      options.add_special_tokens ? NumSpecialTokens(is_pair) : 0;
  size_t untruncated = added;
  for (const EncodingPart& part : parts) untruncated += part.encoding.size();
  if (options.max_length > 0) {
    if (options.max_length < added) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_length is ", options.max_length,
                       ", expected at least ", added, " (the special tokens)"));
    }
    TruncateLongestFirst(&parts, options.max_length - added);
  }
  if (parts_.post_processor) {
    if (absl::Status s = parts_.post_processor->ProcessParts(
            &parts, options.add_special_tokens);
        !s.ok()) {
      return s;
    }
  }
  Encoding result;
  if (parts.size() == 1) {
    result = std::move(parts[0].encoding);
  } else {
    for (const EncodingPart& part : parts) result.Append(part.encoding);
  }
  result.untruncated_length = untruncated;
  return result;
}

absl::StatusOr<Encoding> Tokenizer::Encode(std::string_view text,
                                           const EncodeOptions& options) const {
  // Tokenized whole: HF stops at max_length tokens here too, but a single
  // sequence's ids come out the same either way, and untruncated_length
  // stays the full length.
  absl::StatusOr<Encoding> encoding = EncodeSequence(text, 0, 0, 0);
  if (!encoding.ok()) return encoding.status();
  std::vector<EncodingPart> parts;
  parts.push_back({*std::move(encoding), text});
  return PostProcess(std::move(parts), options);
}

absl::StatusOr<Encoding> Tokenizer::EncodePair(
    std::string_view text, std::string_view pair,
    const EncodeOptions& options) const {
  absl::StatusOr<Encoding> first =
      EncodeSequence(text, 0, 0, options.max_length);
  if (!first.ok()) return first.status();
  absl::StatusOr<Encoding> second =
      EncodeSequence(pair, 1, 1, options.max_length);
  if (!second.ok()) return second.status();
  std::vector<EncodingPart> parts;
  parts.push_back({*std::move(first), text});
  parts.push_back({*std::move(second), pair});
  return PostProcess(std::move(parts), options);
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (std::optional<int32_t> id = added_vocabulary_.TokenToId(token)) return id;
  return parts_.model->TokenToId(token);
}

std::optional<std::string_view> Tokenizer::IdToToken(int32_t id) const {
  if (const AddedToken* token = added_vocabulary_.FindById(id)) {
    return std::string_view(token->content);
  }
  return parts_.model->IdToToken(id);
}

std::string Tokenizer::Decode(absl::Span<const int32_t> ids,
                              const DecodeOptions& options) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* token = added_vocabulary_.FindById(id)) {
      if (options.skip_special_tokens && token->special) continue;
      tokens.push_back(token->content);
    } else if (std::optional<std::string_view> piece =
                   parts_.model->IdToToken(id)) {
      tokens.emplace_back(*piece);
    }
  }
  std::string text;
  if (parts_.decoder) {
    parts_.decoder->DecodeChain(&tokens);
    text = absl::StrJoin(tokens, "");
  } else {
    text = absl::StrJoin(tokens, " ");
  }
  if (options.clean_up_tokenization_spaces) {
    text = CleanUpTokenization(std::move(text));
  }
  return text;
}

}  // namespace attnserve::core::tokenizers
