#include "core/tokenizer/post_processors/bert.h"

#include "core/tokenizer/post_processors/byte_level.h"

namespace attnserve::core::tokenizers {
namespace {

EncodingPart Special(const SpecialToken& token, uint32_t type_id) {
  return SpecialPart({token.id}, {token.token}, type_id);
}

}  // namespace

absl::Status BertPostProcessor::ProcessParts(std::vector<EncodingPart>* parts,
                                             bool add_special_tokens) const {
  if (!add_special_tokens) return absl::OkStatus();
  std::vector<EncodingPart> out;
  out.push_back(Special(cls_, 0));
  out.push_back(std::move((*parts)[0]));
  out.push_back(Special(sep_, 0));
  if (parts->size() > 1) {
    // B keeps its own type ids (1 from the pair encoding).
    out.push_back(std::move((*parts)[1]));
    out.push_back(Special(sep_, 1));
  }
  *parts = std::move(out);
  return absl::OkStatus();
}

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
  out.push_back(Special(cls_, 0));
  out.push_back(std::move((*parts)[0]));
  out.push_back(Special(sep_, 0));
  if (parts->size() > 1) {
    out.push_back(Special(sep_, 0));
    out.push_back(std::move((*parts)[1]));
    out.push_back(Special(sep_, 0));
  }
  *parts = std::move(out);
  return absl::OkStatus();
}

}  // namespace attnserve::core::tokenizers
