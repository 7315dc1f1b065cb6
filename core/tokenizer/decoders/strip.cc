#include "core/tokenizer/decoders/strip.h"

#include <utility>

#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

void StripDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (std::string& token : *tokens) {
    const std::vector<char32_t> chars = CodePoints(token);
    size_t start_cut = 0;
    for (size_t i = 0; i < chars.size() && i < start_; ++i) {
      if (chars[i] != content_) break;
      start_cut = i + 1;
    }
    size_t stop_cut = chars.size();
    for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
      const size_t index = chars.size() - i - 1;
      if (chars[index] != content_) break;
      stop_cut = index;
    }
    std::string out;
    for (size_t i = start_cut; i < stop_cut; ++i) AppendUtf8(chars[i], &out);
    token = std::move(out);
  }
}

}  // namespace attnserve::core::tokenizers
