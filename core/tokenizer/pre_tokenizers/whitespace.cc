#include "core/tokenizer/pre_tokenizers/whitespace.h"

#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace attnserve::core::tokenizers {

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

}  // namespace attnserve::core::tokenizers
