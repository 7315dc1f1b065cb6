#include "core/tokenizer/normalizers/nmt.h"

#include <string>
#include <vector>

#include "core/tokenizer/pre_tokenizers/byte_level.h"

namespace attnserve::core::tokenizers {

void NmtNormalizer::Normalize(NormalizedText* text) const {
  text->Filter([](char32_t c) {
    return !((c >= 0x01 && c <= 0x08) || c == 0x0B ||
             (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F);
  });
  text->Map([](char32_t c) {
    switch (c) {
      case 0x09:
      case 0x0A:
      case 0x0C:
      case 0x0D:
      case 0x1680:
      case 0x200B:
      case 0x200C:
      case 0x200D:
      case 0x200E:
      case 0x200F:
      case 0x2028:
      case 0x2029:
      case 0x2581:
      case 0xFEFF:
      case 0xFFFD:
        return U' ';
      default:
        return c;
    }
  });
}

void ByteLevelNormalizer::Normalize(NormalizedText* text) const {
  if (text->empty()) return;
  const auto& alphabet = ByteLevelAlphabet();
  const std::string& s = text->get();
  std::vector<CharChange> changes;
  changes.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    size_t length = 0;
    DecodeUtf8(s, pos, &length);
    for (size_t i = 0; i < length; ++i) {
      changes.emplace_back(alphabet[static_cast<unsigned char>(s[pos + i])],
                           i > 0 ? 1 : 0);
    }
    pos += length;
  }
  text->Transform(changes, 0);
}

}  // namespace attnserve::core::tokenizers
