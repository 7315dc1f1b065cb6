#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_STRIP_ACCENTS_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_STRIP_ACCENTS_H_

#include "core/tokenizer/normalizers/normalizer.h"
#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

// StripAccents: drops combining marks (Mn, Mc, Me); usually after NFD.
class StripAccentsNormalizer final : public Normalizer {
 public:
  void Normalize(NormalizedText* text) const override {
    text->Filter([](char32_t c) { return !IsCombiningMark(c); });
  }
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_STRIP_ACCENTS_H_
