#include "core/tokenizer/pre_tokenizers/char_delimiter_split.h"

namespace attnserve::core::tokenizers {

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

}  // namespace attnserve::core::tokenizers
