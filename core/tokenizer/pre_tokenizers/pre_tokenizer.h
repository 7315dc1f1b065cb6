#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_PRE_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_PRE_TOKENIZER_H_

// tokenizer.json's "pre_tokenizer" section (HF tokenizers' PreTokenizer
// trait): cuts the normalized text into the words the model sees.

#include "core/tokenizer/pre_tokenized_text.h"

namespace attnserve::core::tokenizers {

// Immutable after construction; PreTokenize is const and thread-safe.
class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void PreTokenize(PreTokenizedText* text) const = 0;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_PRE_TOKENIZER_H_
