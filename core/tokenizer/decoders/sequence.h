#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_SEQUENCE_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_SEQUENCE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"

namespace attnserve::core::tokenizers {

// Sequence: each decoder in order.
class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<const Decoder>> decoders)
      : decoders_(std::move(decoders)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (const auto& d : decoders_) d->DecodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<const Decoder>> decoders_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_SEQUENCE_H_
