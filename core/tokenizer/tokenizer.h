#ifndef ATTNSERVE_CORE_TOKENIZER_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZER_TOKENIZER_H_

// The tokenizer pipeline of a tokenizer.json, as HF tokenizers' Rust
// TokenizerImpl runs it (the reference):
//   added tokens (raw) -> normalizer -> added tokens (normalized)
//   -> pre-tokenizer -> model -> truncation -> post-processor
// and back: ids -> tokens -> decoder. Built by ParseTokenizerJson
// (tokenizer_json.h) or from a vocab.txt (vocab_txt.h).
//
// Immutable after construction; every method is const and thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tokenizer/added_vocabulary.h"
#include "core/tokenizer/decoders/decoder.h"
#include "core/tokenizer/encoding.h"
#include "core/tokenizer/models/model.h"
#include "core/tokenizer/normalizers/normalizer.h"
#include "core/tokenizer/post_processors/post_processor.h"
#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

struct EncodeOptions {
  bool add_special_tokens = true;  // the post-processor's tokens
  // > 0: at most this many tokens, the post-processor's included, cut as
  // HF's truncation=True (LongestFirst, right side). 0: no truncation.
  size_t max_length = 0;
};

struct DecodeOptions {
  bool skip_special_tokens = false;  // drop special added tokens
  // transformers' clean_up_tokenization after decoding (" ." -> ".", ...).
  bool clean_up_tokenization_spaces = false;
};

// The parts of a tokenizer; null where tokenizer.json has null.
struct TokenizerParts {
  std::unique_ptr<const Normalizer> normalizer;
  std::unique_ptr<const PreTokenizer> pre_tokenizer;
  std::unique_ptr<const Model> model;  // required
  std::unique_ptr<const PostProcessor> post_processor;
  std::unique_ptr<const Decoder> decoder;
  std::vector<AddedToken> added_tokens;
  // tokenizer_config.json's model_max_length; 0 when unset or HF's "very
  // large" sentinel.
  int64_t model_max_length = 0;
  // tokenizer_config.json's clean_up_tokenization_spaces (the default of
  // DecodeOptions callers should use).
  bool clean_up_tokenization_spaces = false;
};

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerParts parts);

  // INVALID_ARGUMENT "invalid UTF-8 at byte offset N" for invalid text
  // (callers prefix the field: "texts[3]: ..."), and when max_length is
  // smaller than the post-processor's tokens.
  absl::StatusOr<Encoding> Encode(std::string_view text,
                                  const EncodeOptions& options) const;
  // A text pair (type ids from the post-processor's pair template).
  absl::StatusOr<Encoding> EncodePair(std::string_view text,
                                      std::string_view pair,
                                      const EncodeOptions& options) const;

  // Ids back to text. Unknown ids are skipped, as HF does.
  std::string Decode(absl::Span<const int32_t> ids,
                     const DecodeOptions& options) const;

  // The added vocabulary first, then the model (HF's token_to_id).
  std::optional<int32_t> TokenToId(std::string_view token) const;
  std::optional<std::string_view> IdToToken(int32_t id) const;
  // One past the largest id (model or added token).
  size_t VocabSize() const { return vocab_size_; }
  // "WordPiece", "BPE" or "Unigram".
  std::string_view model_type() const { return parts_.model->type(); }
  int64_t model_max_length() const { return parts_.model_max_length; }
  bool clean_up_tokenization_spaces() const {
    return parts_.clean_up_tokenization_spaces;
  }
  // Tokens the post-processor adds with add_special_tokens.
  size_t NumSpecialTokens(bool is_pair) const;
  // Whether `id` is a special added token ([CLS], <s>, [MASK], ...).
  bool IsSpecialId(int32_t id) const {
    return added_vocabulary_.IsSpecialId(id);
  }
  const AddedVocabulary& added_vocabulary() const { return added_vocabulary_; }
  const Model& model() const { return *parts_.model; }

 private:
  // One sequence, before the post-processor. limit > 0 (truncation on) stops
  // after the first pre-token split the model tokenizes that brings the
  // count to >= limit, as HF's tokenize_with_limit (right side): with
  // truncation, HF tokenizes each sequence of a pair only that far, and
  // LongestFirst then compares those lengths.
  absl::StatusOr<Encoding> EncodeSequence(std::string_view text,
                                          uint32_t type_id, int8_t sequence_id,
                                          size_t limit) const;
  absl::StatusOr<Encoding> PostProcess(std::vector<EncodingPart> parts,
                                       const EncodeOptions& options) const;

  TokenizerParts parts_;
  AddedVocabulary added_vocabulary_;
  size_t vocab_size_ = 0;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_TOKENIZER_H_
