#include "core/tokenizer/decoders/replace.h"

#include <utility>

#include "core/tokenizer/pre_tokenized_text.h"

namespace attnserve::core::tokenizers {

void ReplaceDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (std::string& token : *tokens) {
    std::string out;
    for (const PatternMatch& m : FindRegexMatches(*pattern_, token)) {
      if (m.is_match) {
        out += content_;
      } else {
        out.append(token, m.start, m.end - m.start);
      }
    }
    token = std::move(out);
  }
}

}  // namespace attnserve::core::tokenizers
