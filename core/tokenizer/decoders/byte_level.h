#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_BYTE_LEVEL_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_BYTE_LEVEL_H_

#include <string>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"

namespace attnserve::core::tokenizers {

// ByteLevel: all tokens' byte-level characters back to bytes (a token with
// another character stays as is), one token, invalid UTF-8 -> U+FFFD.
class ByteLevelDecoder final : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_BYTE_LEVEL_H_
