#ifndef ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_BYTE_LEVEL_H_
#define ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_BYTE_LEVEL_H_

#include <string_view>
#include <vector>

#include "core/tokenizer/post_processors/post_processor.h"

namespace attnserve::core::tokenizers {

// HF's byte_level::process_offsets: each token's offsets lose its leading
// and trailing 'Ġ' / whitespace characters (counted in characters of the
// original text), except a first token's single prefix space when
// add_prefix_space.
void TrimByteLevelOffsets(Encoding* encoding, std::string_view source,
                          bool add_prefix_space);

// ByteLevel post-processor: trims offsets (trim_offsets), adds nothing.
class ByteLevelPostProcessor final : public PostProcessor {
 public:
  ByteLevelPostProcessor(bool trim_offsets, bool add_prefix_space)
      : trim_offsets_(trim_offsets), add_prefix_space_(add_prefix_space) {}
  size_t AddedTokens(bool) const override { return 0; }
  absl::Status ProcessParts(std::vector<EncodingPart>* parts,
                            bool add_special_tokens) const override;

 private:
  bool trim_offsets_;
  bool add_prefix_space_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_BYTE_LEVEL_H_
