#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_CHAR_DELIMITER_SPLIT_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_CHAR_DELIMITER_SPLIT_H_

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// CharDelimiterSplit: splits on one character, removed.
class CharDelimiterSplitPreTokenizer final : public PreTokenizer {
 public:
  explicit CharDelimiterSplitPreTokenizer(char32_t delimiter)
      : delimiter_(delimiter) {}
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  char32_t delimiter_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_CHAR_DELIMITER_SPLIT_H_
