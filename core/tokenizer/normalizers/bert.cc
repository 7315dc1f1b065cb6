#include "core/tokenizer/normalizers/bert.h"

#include <vector>

namespace attnserve::core::tokenizers {

bool IsChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

void BertNormalizer::Normalize(NormalizedText* text) const {
  if (clean_text_) {
    text->Filter([](char32_t c) {
      if (c == 0 || c == 0xFFFD) return false;
      if (c == '\t' || c == '\n' || c == '\r') return true;
      return !IsOther(c);
    });
    text->Map([](char32_t c) { return IsWhitespace(c) ? U' ' : c; });
  }
  if (handle_chinese_chars_) {
    const std::string& s = text->get();
    std::vector<CharChange> changes;
    changes.reserve(s.size());
    bool any = false;
    for (size_t pos = 0; pos < s.size();) {
      size_t length = 0;
      const char32_t c = DecodeUtf8(s, pos, &length);
      pos += length;
      if (IsChineseChar(c)) {
        changes.emplace_back(U' ', 0);
        changes.emplace_back(c, 1);
        changes.emplace_back(U' ', 1);
        any = true;
      } else {
        changes.emplace_back(c, 0);
      }
    }
    if (any) text->Transform(changes, 0);
  }
  if (strip_accents_) {
    text->Unicode(UnicodeForm::kNfd);
    text->Filter([](char32_t c) { return !IsMarkNonspacing(c); });
  }
  if (lowercase_) text->Lowercase();
}

}  // namespace attnserve::core::tokenizers
