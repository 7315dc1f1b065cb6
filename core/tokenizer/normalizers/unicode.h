#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_UNICODE_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_UNICODE_H_

#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// NFC, NFD, NFKC and NFKD, with HF's alignment of each output character.
class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm form) : form_(form) {}
  void Normalize(NormalizedText* text) const override { text->Unicode(form_); }

 private:
  UnicodeForm form_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_UNICODE_H_
