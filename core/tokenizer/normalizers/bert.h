#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_BERT_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_BERT_H_

#include <optional>

#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// BertNormalizer, as in Rust: clean_text drops NUL, U+FFFD and Cc/Cf/Co/Cs
// (not \t \n \r) and maps White_Space to ' '; handle_chinese_chars puts
// spaces around CJK ideographs (Rust's ranges); strip_accents (default: as
// lowercase) is NFD then dropping Mn; lowercase maps each character on its
// own (no final-sigma rule: ΟΔΟΣ -> οδοσ).
class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars,
                 std::optional<bool> strip_accents, bool lowercase)
      : clean_text_(clean_text),
        handle_chinese_chars_(handle_chinese_chars),
        strip_accents_(strip_accents.value_or(lowercase)),
        lowercase_(lowercase) {}
  void Normalize(NormalizedText* text) const override;

 private:
  bool clean_text_;
  bool handle_chinese_chars_;
  bool strip_accents_;
  bool lowercase_;
};

// The CJK blocks of Rust BertNormalizer's is_chinese_char.
bool IsChineseChar(char32_t cp);

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_BERT_H_
