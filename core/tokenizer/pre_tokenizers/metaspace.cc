#include "core/tokenizer/pre_tokenizers/metaspace.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"

namespace attnserve::core::tokenizers {

MetaspacePreTokenizer::MetaspacePreTokenizer(char32_t replacement,
                                             PrependScheme prepend_scheme,
                                             bool split)
    : replacement_(replacement),
      prepend_scheme_(prepend_scheme),
      split_(split) {
  AppendUtf8(replacement, &replacement_utf8_);
}

void MetaspacePreTokenizer::PreTokenize(PreTokenizedText* text) const {
  text->SplitEach([&](NormalizedText normalized) {
    std::vector<std::pair<size_t, size_t>> spaces;
    const std::string& s = normalized.get();
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == ' ') spaces.emplace_back(i, i + 1);
    }
    normalized.Replace(spaces, replacement_utf8_);
    const bool starts = absl::StartsWith(normalized.get(), replacement_utf8_);
    if (!starts && (prepend_scheme_ == PrependScheme::kAlways ||
                    (prepend_scheme_ == PrependScheme::kFirst &&
                     normalized.original_start() == 0))) {
      normalized.Prepend(replacement_utf8_);
    }
    if (!split_) return std::vector<NormalizedText>{std::move(normalized)};
    const char32_t replacement = replacement_;
    return SplitByMatches(
        normalized,
        FindCharMatches(normalized.get(),
                        [replacement](char32_t c) { return c == replacement; }),
        SplitBehavior::kMergedWithNext);
  });
}

}  // namespace attnserve::core::tokenizers
