#include "core/tokenizer/pre_tokenizers/digits.h"

#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

void DigitsPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  SplitOnChars(text, IsNumeric,
               individual_digits_ ? SplitBehavior::kIsolated
                                  : SplitBehavior::kContiguous);
}

}  // namespace attnserve::core::tokenizers
