#include "core/tokenizer/decoders/byte_level.h"

#include <cstdint>
#include <string_view>

#include "core/tokenizer/pre_tokenizers/byte_level.h"
#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {
namespace {

// String::from_utf8_lossy: each maximal invalid sequence -> U+FFFD.
std::string FromUtf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const int64_t bad = FirstInvalidUtf8(bytes.substr(pos));
    if (bad < 0) {
      out.append(bytes.substr(pos));
      break;
    }
    out.append(bytes.substr(pos, static_cast<size_t>(bad)));
    pos += static_cast<size_t>(bad);
    // The longest prefix of a valid sequence counts as one error (WHATWG /
    // Rust's maximal subpart rule).
    const auto b0 = static_cast<unsigned char>(bytes[pos]);
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      need = 2;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      need = 3;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    }
    size_t consumed = 1;
    for (size_t k = 0; k < need && pos + consumed < bytes.size(); ++k) {
      const auto b = static_cast<unsigned char>(bytes[pos + consumed]);
      if (b < lo || b > hi) break;
      lo = 0x80;
      hi = 0xBF;
      ++consumed;
    }
    out += "\xEF\xBF\xBD";
    pos += consumed;
  }
  return out;
}

}  // namespace

void ByteLevelDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  std::string bytes;
  for (const std::string& token : *tokens) {
    std::string mapped;
    bool all_mapped = true;
    for (char32_t c : CodePoints(token)) {
      const int b = ByteLevelByte(c);
      if (b < 0) {
        all_mapped = false;
        break;
      }
      mapped.push_back(static_cast<char>(b));
    }
    bytes += all_mapped ? mapped : token;
  }
  *tokens = {FromUtf8Lossy(bytes)};
}

}  // namespace attnserve::core::tokenizers
