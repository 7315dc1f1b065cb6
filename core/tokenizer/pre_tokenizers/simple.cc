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
  // HF splits on White_Space (removed), then isolates punctuation in each
  // piece; one pass gives the same pieces: runs of other characters, and
  // each punctuation character alone.
  text->SplitEach([](NormalizedText normalized) {
    std::vector<NormalizedText> pieces;
    const std::string& s = normalized.get();
    size_t run_start = 0;
    for (size_t pos = 0; pos < s.size();) {
      size_t length = 0;
      const char32_t c = DecodeUtf8(s, pos, &length);
      const bool space = IsWhitespace(c);
      if (space || IsPunctuation(c)) {
        if (run_start < pos) pieces.push_back(normalized.Slice(run_start, pos));
        if (!space) pieces.push_back(normalized.Slice(pos, pos + length));
        run_start = pos + length;
      }
      pos += length;
    }
    if (run_start < s.size()) {
      pieces.push_back(normalized.Slice(run_start, s.size()));
    }
    return pieces;
  });
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

void CharDelimiterSplitPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  const char32_t delimiter = delimiter_;
  text->SplitEach([delimiter](NormalizedText normalized) {
    return SplitByMatches(
        normalized,
        FindCharMatches(normalized.get(),
                        [delimiter](char32_t c) { return c == delimiter; }),
        SplitBehavior::kRemoved);
  });
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
