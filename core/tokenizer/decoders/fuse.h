#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_FUSE_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_FUSE_H_

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/tokenizer/decoders/decoder.h"

namespace attnserve::core::tokenizers {

// Fuse: all tokens into one.
class FuseDecoder final : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    *tokens = {absl::StrJoin(*tokens, "")};
  }
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_FUSE_H_
