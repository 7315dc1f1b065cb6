#include "core/tokenizer/decoders/byte_fallback.h"

#include <utility>

#include "absl/strings/match.h"
#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

void ByteFallbackDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  std::vector<std::string> out;
  std::string pending;
  size_t pending_count = 0;
  auto flush = [&] {
    if (pending_count == 0) return;
    if (FirstInvalidUtf8(pending) < 0) {
      out.push_back(pending);
    } else {
      for (size_t k = 0; k < pending_count; ++k) out.push_back("\xEF\xBF\xBD");
    }
    pending.clear();
    pending_count = 0;
  };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::string& token : *tokens) {
    int byte = -1;
    if (token.size() == 6 && absl::StartsWith(token, "<0x") &&
        token.back() == '>' && hex(token[3]) >= 0 && hex(token[4]) >= 0) {
      byte = hex(token[3]) * 16 + hex(token[4]);
    }
    if (byte >= 0) {
      pending.push_back(static_cast<char>(byte));
      ++pending_count;
    } else {
      flush();
      out.push_back(std::move(token));
    }
  }
  flush();
  *tokens = std::move(out);
}

}  // namespace attnserve::core::tokenizers
