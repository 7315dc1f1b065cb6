#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_PUNCTUATION_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_PUNCTUATION_H_

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// Punctuation: each punctuation char split off per `behavior`.
class PunctuationPreTokenizer final : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(SplitBehavior behavior)
      : behavior_(behavior) {}
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  SplitBehavior behavior_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_PUNCTUATION_H_
