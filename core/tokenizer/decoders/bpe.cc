#include "core/tokenizer/decoders/bpe.h"

#include <utility>

#include "absl/strings/str_replace.h"
#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

void BpeDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (size_t i = 0; i < tokens->size(); ++i) {
    const char* replacement = i + 1 == tokens->size() ? "" : " ";
    if (suffix_.empty()) {
      // Rust's str::replace("", r): r before every character and at the end.
      std::string out = replacement;
      for (char32_t c : CodePoints((*tokens)[i])) {
        AppendUtf8(c, &out);
        out += replacement;
      }
      (*tokens)[i] = std::move(out);
      continue;
    }
    (*tokens)[i] = absl::StrReplaceAll((*tokens)[i], {{suffix_, replacement}});
  }
}

}  // namespace attnserve::core::tokenizers
