#ifndef ATTNSERVE_CORE_TOKENIZER_ADDED_VOCABULARY_H_
#define ATTNSERVE_CORE_TOKENIZER_ADDED_VOCABULARY_H_

// HF tokenizers' AddedVocabulary: tokenizer.json's "added_tokens", matched in
// the text before the model. Tokens with normalized=false are found in the
// raw text first; then each remaining piece is normalized and the tokens
// with normalized=true (their content normalized too) are found in it.
// Matching is leftmost-longest; single_word, lstrip and rstrip as HF.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/tokenizer/normalizers/normalizer.h"
#include "core/tokenizer/pre_tokenized_text.h"
#include "core/tokenizer/regex.h"

namespace attnserve::core::tokenizers {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `normalizer` (may be null) normalizes the content of normalized tokens.
  // Tokens with empty content are ignored, as HF does.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  // HF's extract_and_normalize: the text split at added tokens, the other
  // pieces normalized.
  PreTokenizedText ExtractAndNormalize(std::string_view text,
                                       const Normalizer* normalizer) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  std::optional<int32_t> TokenToId(std::string_view content) const;
  const AddedToken* FindById(int32_t id) const;
  bool IsSpecialId(int32_t id) const {
    const AddedToken* t = FindById(id);
    return t != nullptr && t->special;
  }

 private:
  // A set of patterns matched leftmost-longest.
  struct Matcher {
    std::vector<std::pair<std::string, size_t>> patterns;  // (text, token)
    bool first_byte[256] = {};
  };
  // HF's find_matches: (token index or -1, start, end) covering `text`.
  struct Match {
    int64_t token = -1;
    size_t start = 0;
    size_t end = 0;
  };
  std::vector<Match> FindMatches(std::string_view text,
                                 const Matcher& matcher) const;
  void SplitWithMatcher(PreTokenizedText* text, const Matcher& matcher,
                        const Normalizer* normalizer) const;

  std::vector<AddedToken> tokens_;
  absl::flat_hash_map<std::string, int32_t> content_to_id_;
  absl::flat_hash_map<int32_t, size_t> id_to_index_;
  Matcher raw_;
  Matcher normalized_;
  std::shared_ptr<const Regex> word_start_;  // ^\w
  std::shared_ptr<const Regex> word_end_;    // \w$
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_ADDED_VOCABULARY_H_
