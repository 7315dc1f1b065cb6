#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_WHITESPACE_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_WHITESPACE_H_

#include <memory>

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"
#include "core/tokenizer/regex.h"

namespace attnserve::core::tokenizers {

// Whitespace: the runs of `\w+|[^\w\s]+`, the rest removed.
class WhitespacePreTokenizer final : public PreTokenizer {
 public:
  WhitespacePreTokenizer();
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  std::shared_ptr<const Regex> regex_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_WHITESPACE_H_
