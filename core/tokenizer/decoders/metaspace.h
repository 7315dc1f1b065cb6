#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_METASPACE_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_METASPACE_H_

#include <string>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"
#include "core/tokenizer/pre_tokenizers/metaspace.h"

namespace attnserve::core::tokenizers {

// Metaspace: the replacement back to ' ', dropped at the start of the first
// token unless prepend_scheme is never.
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, PrependScheme prepend_scheme)
      : replacement_(replacement), prepend_scheme_(prepend_scheme) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  char32_t replacement_;
  PrependScheme prepend_scheme_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_METASPACE_H_
