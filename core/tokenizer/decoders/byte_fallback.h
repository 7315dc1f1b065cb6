#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_BYTE_FALLBACK_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_BYTE_FALLBACK_H_

#include <string>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"

namespace attnserve::core::tokenizers {

// ByteFallback: runs of <0xNN> tokens back to their bytes (U+FFFD per byte
// when not UTF-8).
class ByteFallbackDecoder final : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_BYTE_FALLBACK_H_
