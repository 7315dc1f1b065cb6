#include "core/tokenizer/pre_tokenizers/whitespace_split.h"

#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

void WhitespaceSplitPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  SplitOnChars(text, IsWhitespace, SplitBehavior::kRemoved);
}

}  // namespace attnserve::core::tokenizers
