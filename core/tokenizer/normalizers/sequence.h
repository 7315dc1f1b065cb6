#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_SEQUENCE_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_SEQUENCE_H_

#include <memory>
#include <utility>
#include <vector>

#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// Sequence: each normalizer in order.
class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(
      std::vector<std::unique_ptr<const Normalizer>> normalizers)
      : normalizers_(std::move(normalizers)) {}
  void Normalize(NormalizedText* text) const override {
    for (const auto& normalizer : normalizers_) normalizer->Normalize(text);
  }

 private:
  std::vector<std::unique_ptr<const Normalizer>> normalizers_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_SEQUENCE_H_
