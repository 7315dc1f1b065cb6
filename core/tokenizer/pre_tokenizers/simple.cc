#include "core/tokenizer/pre_tokenizers/simple.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace attnserve::core::tokenizers {
namespace {

void SplitOnChars(PreTokenizedText* text, bool (*is_match)(char32_t),
                  SplitBehavior behavior) {
  text->SplitEach([&](NormalizedText normalized) {
    return SplitByMatches(
        normalized, FindCharMatches(normalized.get(), is_match), behavior);
  });
}

}  // namespace

void BertPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  SplitOnChars(text, IsWhitespace, SplitBehavior::kRemoved);
  SplitOnChars(text, IsPunctuation, SplitBehavior::kIsolated);
}

WhitespacePreTokenizer::WhitespacePreTokenizer() {
  absl::StatusOr<std::shared_ptr<const Regex>> regex =
      Regex::Create(absl::StrCat("[", kRustWordClass, "]+|[^", kRustWordClass,
                                 R"(\p{White_Space}]+)"));
  if (!regex.ok()) std::abort();  // a constant pattern
  regex_ = *std::move(regex);
}

void WhitespacePreTokenizer::PreTokenize(PreTokenizedText* text) const {
  text->SplitEach([&](NormalizedText normalized) {
    std::vector<PatternMatch> matches =
        FindRegexMatches(*regex_, normalized.get());
    InvertMatches(&matches);
    return SplitByMatches(normalized, std::move(matches),
                          SplitBehavior::kRemoved);
  });
}

void WhitespaceSplitPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  SplitOnChars(text, IsWhitespace, SplitBehavior::kRemoved);
}

void PunctuationPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  SplitOnChars(text, IsPunctuation, behavior_);
}

void DigitsPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  SplitOnChars(text, IsNumeric,
               individual_digits_ ? SplitBehavior::kIsolated
                                  : SplitBehavior::kContiguous);
}

}  // namespace attnserve::core::tokenizers
