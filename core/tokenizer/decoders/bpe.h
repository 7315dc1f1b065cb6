#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_BPE_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_BPE_H_

#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"

namespace attnserve::core::tokenizers {

// BPEDecoder: `suffix` -> ' ' in each token, -> '' in the last.
class BpeDecoder final : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  std::string suffix_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_BPE_H_
