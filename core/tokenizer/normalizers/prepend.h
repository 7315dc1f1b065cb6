#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_PREPEND_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_PREPEND_H_

#include <string>
#include <utility>

#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// Prepend: `prepend` before a non-empty text, aligned to its first char.
class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend)
      : prepend_(std::move(prepend)) {}
  void Normalize(NormalizedText* text) const override {
    if (!text->empty()) text->Prepend(prepend_);
  }

 private:
  std::string prepend_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_PREPEND_H_
