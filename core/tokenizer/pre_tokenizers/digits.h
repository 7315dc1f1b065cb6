#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_DIGITS_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_DIGITS_H_

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// Digits: numeric chars (Nd, Nl, No) isolated one by one, or in runs.
class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits)
      : individual_digits_(individual_digits) {}
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  bool individual_digits_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_DIGITS_H_
