#include "core/tokenizer/decoders/metaspace.h"

#include <utility>

#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

void MetaspaceDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (size_t i = 0; i < tokens->size(); ++i) {
    std::string out;
    for (char32_t c : CodePoints((*tokens)[i])) {
      if (c == replacement_) {
        if (i == 0 && prepend_scheme_ != PrependScheme::kNever) continue;
        out.push_back(' ');
      } else {
        AppendUtf8(c, &out);
      }
    }
    (*tokens)[i] = std::move(out);
  }
}

}  // namespace attnserve::core::tokenizers
