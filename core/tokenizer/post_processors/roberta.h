#ifndef ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_ROBERTA_H_
#define ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_ROBERTA_H_

#include <cstddef>
#include <utility>
#include <vector>

#include "core/tokenizer/post_processors/post_processor.h"

namespace attnserve::core::tokenizers {

// RobertaProcessing: <s> A </s> and <s> A </s></s> B </s>, every type id 0;
// trim_offsets trims as the ByteLevel post-processor.
class RobertaPostProcessor final : public PostProcessor {
 public:
  RobertaPostProcessor(SpecialToken sep, SpecialToken cls, bool trim_offsets,
                       bool add_prefix_space)
      : sep_(std::move(sep)),
        cls_(std::move(cls)),
        trim_offsets_(trim_offsets),
        add_prefix_space_(add_prefix_space) {}
  size_t AddedTokens(bool is_pair) const override { return is_pair ? 4 : 2; }
  absl::Status ProcessParts(std::vector<EncodingPart>* parts,
                            bool add_special_tokens) const override;

 private:
  SpecialToken sep_;
  SpecialToken cls_;
  bool trim_offsets_;
  bool add_prefix_space_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_ROBERTA_H_
