#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_DECODER_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_DECODER_H_

// tokenizer.json's "decoder" section (HF tokenizers' Decoder trait): turns
// token strings back into text. DecodeChain rewrites the list; the tokenizer
// joins the result.

#include <string>
#include <vector>

namespace attnserve::core::tokenizers {

// Immutable after construction; DecodeChain is const and thread-safe.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void DecodeChain(std::vector<std::string>* tokens) const = 0;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_DECODER_H_
