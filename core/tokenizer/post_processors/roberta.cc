#include "core/tokenizer/post_processors/roberta.h"

#include <utility>

#include "core/tokenizer/post_processors/byte_level.h"

namespace attnserve::core::tokenizers {

absl::Status RobertaPostProcessor::ProcessParts(
    std::vector<EncodingPart>* parts, bool add_special_tokens) const {
  for (EncodingPart& part : *parts) {
    if (trim_offsets_) {
      TrimByteLevelOffsets(&part.encoding, part.source, add_prefix_space_);
    }
    part.encoding.type_ids.assign(part.encoding.size(), 0);
  }
  if (!add_special_tokens) return absl::OkStatus();
  std::vector<EncodingPart> out;
  out.push_back(SpecialPart(cls_, 0));
  out.push_back(std::move((*parts)[0]));
  out.push_back(SpecialPart(sep_, 0));
  if (parts->size() > 1) {
    out.push_back(SpecialPart(sep_, 0));
    out.push_back(std::move((*parts)[1]));
    out.push_back(SpecialPart(sep_, 0));
  }
  *parts = std::move(out);
  return absl::OkStatus();
}

}  // namespace attnserve::core::tokenizers
