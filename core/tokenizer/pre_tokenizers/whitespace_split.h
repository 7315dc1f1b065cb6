#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_WHITESPACE_SPLIT_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_WHITESPACE_SPLIT_H_

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// WhitespaceSplit: splits on White_Space, removed.
class WhitespaceSplitPreTokenizer final : public PreTokenizer {
 public:
  void PreTokenize(PreTokenizedText* text) const override;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_WHITESPACE_SPLIT_H_
