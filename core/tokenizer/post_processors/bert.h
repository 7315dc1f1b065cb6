#ifndef ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_BERT_H_
#define ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_BERT_H_

#include <cstddef>
#include <utility>
#include <vector>

#include "core/tokenizer/post_processors/post_processor.h"

namespace attnserve::core::tokenizers {

// BertProcessing: [CLS] A [SEP] and [CLS] A [SEP] B [SEP]; type ids 0 up to
// the first [SEP], then 1.
class BertPostProcessor final : public PostProcessor {
 public:
  BertPostProcessor(SpecialToken sep, SpecialToken cls)
      : sep_(std::move(sep)), cls_(std::move(cls)) {}
  size_t AddedTokens(bool is_pair) const override { return is_pair ? 3 : 2; }
  absl::Status ProcessParts(std::vector<EncodingPart>* parts,
                            bool add_special_tokens) const override;

 private:
  SpecialToken sep_;
  SpecialToken cls_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_BERT_H_
