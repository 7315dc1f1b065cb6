#ifndef ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_SEQUENCE_H_
#define ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_SEQUENCE_H_

#include <memory>
#include <utility>
#include <vector>

#include "core/tokenizer/post_processors/post_processor.h"

namespace attnserve::core::tokenizers {

// Sequence: each post-processor on the parts the previous one left.
class SequencePostProcessor final : public PostProcessor {
 public:
  explicit SequencePostProcessor(
      std::vector<std::unique_ptr<const PostProcessor>> processors)
      : processors_(std::move(processors)) {}
  size_t AddedTokens(bool is_pair) const override {
    size_t count = 0;
    for (const auto& p : processors_) count += p->AddedTokens(is_pair);
    return count;
  }
  absl::Status ProcessParts(std::vector<EncodingPart>* parts,
                            bool add_special_tokens) const override {
    for (const auto& p : processors_) {
      if (absl::Status s = p->ProcessParts(parts, add_special_tokens); !s.ok())
        return s;
    }
    return absl::OkStatus();
  }

 private:
  std::vector<std::unique_ptr<const PostProcessor>> processors_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_SEQUENCE_H_
