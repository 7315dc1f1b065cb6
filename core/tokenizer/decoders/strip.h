#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_STRIP_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_STRIP_H_

#include <cstddef>
#include <string>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"

namespace attnserve::core::tokenizers {

// Strip: up to `start` leading and `stop` trailing `content` chars removed.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  char32_t content_;
  size_t start_;
  size_t stop_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_STRIP_H_
