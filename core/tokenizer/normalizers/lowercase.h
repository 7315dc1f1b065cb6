#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_LOWERCASE_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_LOWERCASE_H_

#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// Lowercase: Rust's per-character to_lowercase (ΟΔΟΣ -> οδοσ).
class LowercaseNormalizer final : public Normalizer {
 public:
  void Normalize(NormalizedText* text) const override { text->Lowercase(); }
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_LOWERCASE_H_
