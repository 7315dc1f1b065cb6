#include "core/tokenizer/normalizers/nmt.h"

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

}  // namespace attnserve::core::tokenizers
