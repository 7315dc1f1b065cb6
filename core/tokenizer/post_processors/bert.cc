#include "core/tokenizer/post_processors/bert.h"

#include <utility>

namespace attnserve::core::tokenizers {

absl::Status BertPostProcessor::ProcessParts(std::vector<EncodingPart>* parts,
                                             bool add_special_tokens) const {
  if (!add_special_tokens) return absl::OkStatus();
  std::vector<EncodingPart> out;
  out.push_back(SpecialPart(cls_, 0));
  out.push_back(std::move((*parts)[0]));
  out.push_back(SpecialPart(sep_, 0));
  if (parts->size() > 1) {
    // B keeps its own type ids (1 from the pair encoding).
    out.push_back(std::move((*parts)[1]));
    out.push_back(SpecialPart(sep_, 1));
  }
  *parts = std::move(out);
  return absl::OkStatus();
}

}  // namespace attnserve::core::tokenizers
