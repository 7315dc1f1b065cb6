#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_REPLACE_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_REPLACE_H_

#include <memory>
#include <string>
#include <utility>

#include "core/tokenizer/normalizers/normalizer.h"
#include "core/tokenizer/regex.h"

namespace attnserve::core::tokenizers {

// Replace: every match of `pattern` (a regex; a string pattern is
// Regex::Escape'd, as HF does) becomes `content`, aligned to the match's
// last character.
class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(std::shared_ptr<const Regex> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Normalize(NormalizedText* text) const override {
    text->Replace(pattern_->FindAll(text->get()), content_);
  }

 private:
  std::shared_ptr<const Regex> pattern_;
  std::string content_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_REPLACE_H_
