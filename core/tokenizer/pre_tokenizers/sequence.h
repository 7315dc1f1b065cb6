#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SEQUENCE_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SEQUENCE_H_

#include <memory>
#include <utility>
#include <vector>

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// Sequence: each pre-tokenizer in order.
class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(
      std::vector<std::unique_ptr<const PreTokenizer>> pre_tokenizers)
      : pre_tokenizers_(std::move(pre_tokenizers)) {}
  void PreTokenize(PreTokenizedText* text) const override {
    for (const auto& p : pre_tokenizers_) p->PreTokenize(text);
  }

 private:
  std::vector<std::unique_ptr<const PreTokenizer>> pre_tokenizers_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SEQUENCE_H_
