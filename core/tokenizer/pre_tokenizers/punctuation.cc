#include "core/tokenizer/pre_tokenizers/punctuation.h"

#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

void PunctuationPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  SplitOnChars(text, IsPunctuation, behavior_);
}

}  // namespace attnserve::core::tokenizers
