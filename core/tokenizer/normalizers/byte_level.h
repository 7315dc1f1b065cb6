#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_BYTE_LEVEL_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_BYTE_LEVEL_H_

#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// ByteLevel normalizer: each byte of the text as its byte-level alphabet
// character (as the ByteLevel pre-tokenizer does after splitting).
class ByteLevelNormalizer final : public Normalizer {
 public:
  void Normalize(NormalizedText* text) const override;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_BYTE_LEVEL_H_
