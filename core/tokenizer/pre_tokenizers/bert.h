#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_BERT_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_BERT_H_

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// Splits on White_Space (removed), then isolates each punctuation char.
class BertPreTokenizer final : public PreTokenizer {
 public:
  void PreTokenize(PreTokenizedText* text) const override;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_BERT_H_
