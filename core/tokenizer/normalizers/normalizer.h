#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_NORMALIZER_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_NORMALIZER_H_

// tokenizer.json's "normalizer" section (HF tokenizers' Normalizer trait).

#include "core/tokenizer/normalized_text.h"

namespace attnserve::core::tokenizers {

// Immutable after construction; Normalize is const and thread-safe.
class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void Normalize(NormalizedText* text) const = 0;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_NORMALIZER_H_
