#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZED_TEXT_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZED_TEXT_H_

// HF tokenizers' PreTokenizedString and the splitting helpers of
// NormalizedString::split / Pattern: a text cut into splits, each a
// NormalizedText, some already tokenized (added tokens).

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "core/tokenizer/models/model.h"
#include "core/tokenizer/normalized_text.h"
#include "core/tokenizer/regex.h"

namespace attnserve::core::tokenizers {

// tokenizer.json's SplitDelimiterBehavior.
enum class SplitBehavior {
  kRemoved,
  kIsolated,
  kMergedWithPrevious,
  kMergedWithNext,
  kContiguous
};

// A piece of a text that a pattern found (is_match) or the gap between two.
struct PatternMatch {
  size_t start = 0;
  size_t end = 0;
  bool is_match = false;
};

// HF's Pattern::find_matches: the pieces cover the text in order; an empty
// text is one empty non-match.
std::vector<PatternMatch> FindCharMatches(
    std::string_view text, const std::function<bool(char32_t)>& is_match);
std::vector<PatternMatch> FindRegexMatches(const Regex& regex,
                                           std::string_view text);
// Invert: matches become gaps and gaps matches.
void InvertMatches(std::vector<PatternMatch>* matches);

// HF's NormalizedString::split: slices of `text` per `behavior` (empty
// slices included; PreTokenizedText drops them).
std::vector<NormalizedText> SplitByMatches(const NormalizedText& text,
                                           std::vector<PatternMatch> matches,
                                           SplitBehavior behavior);

struct PreTokenizedText {
  struct Split {
    NormalizedText normalized;
    // Set for added tokens (found before the model); the model tokenizes
    // the others.
    std::optional<std::vector<ModelToken>> tokens;
  };
  std::vector<Split> splits;

  // HF's PreTokenizedString::split: `fn` cuts every split that has no tokens
  // yet; empty results are dropped.
  void SplitEach(
      const std::function<std::vector<NormalizedText>(NormalizedText)>& fn);
  // HF's PreTokenizedString::normalize on the splits without tokens.
  void NormalizeEach(const std::function<void(NormalizedText*)>& fn);
};

// Splits every split without tokens at the characters `is_match` accepts,
// per `behavior`.
void SplitOnChars(PreTokenizedText* text, bool (*is_match)(char32_t),
                  SplitBehavior behavior);

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZED_TEXT_H_
