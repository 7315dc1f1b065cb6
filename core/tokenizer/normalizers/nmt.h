#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_NMT_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_NMT_H_

#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// Nmt: sentencepiece's NMT cleanup: drops ASCII controls (except \t \n \r,
// \f) and U+008F, U+009F; maps \t \n \f \r, U+1680, U+200B-200F, U+2028,
// U+2029, U+2581, U+FEFF and U+FFFD to ' '.
class NmtNormalizer final : public Normalizer {
 public:
  void Normalize(NormalizedText* text) const override;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_NMT_H_
