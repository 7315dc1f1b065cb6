#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_STRIP_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_STRIP_H_

#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// Strip: White_Space removed from the left and/or right end.
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(NormalizedText* text) const override {
    text->Strip(left_, right_);
  }

 private:
  bool left_;
  bool right_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_STRIP_H_
