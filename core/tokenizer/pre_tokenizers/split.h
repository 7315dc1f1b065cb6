#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SPLIT_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SPLIT_H_

#include <memory>
#include <utility>

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// Split: the matches of a regex (a string pattern is Regex::Escape'd, as HF
// does), or with `invert` the text between them, split per `behavior`.
class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(std::shared_ptr<const Regex> pattern,
                    SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void PreTokenize(PreTokenizedText* text) const override {
    text->SplitEach([&](NormalizedText normalized) {
      std::vector<PatternMatch> matches =
          FindRegexMatches(*pattern_, normalized.get());
      if (invert_) InvertMatches(&matches);
      return SplitByMatches(normalized, std::move(matches), behavior_);
    });
  }

 private:
  std::shared_ptr<const Regex> pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SPLIT_H_
