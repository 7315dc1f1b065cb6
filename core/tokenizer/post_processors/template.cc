#include "core/tokenizer/post_processors/template.h"

#include "absl/strings/str_cat.h"

namespace attnserve::core::tokenizers {

TemplatePostProcessor::TemplatePostProcessor(
    std::vector<Piece> single, std::vector<Piece> pair,
    std::vector<std::pair<std::string, Special>> specials)
    : single_(std::move(single)),
      pair_(std::move(pair)),
      specials_(std::move(specials)) {
  added_single_ = Count(single_);
  added_pair_ = Count(pair_);
}

const TemplatePostProcessor::Special* TemplatePostProcessor::Find(
    const std::string& id) const {
  for (const auto& [key, special] : specials_) {
    if (key == id) return &special;
  }
  return nullptr;
}

size_t TemplatePostProcessor::Count(const std::vector<Piece>& pieces) const {
  size_t count = 0;
  for (const Piece& piece : pieces) {
    if (piece.is_sequence) continue;
    if (const Special* special = Find(piece.special_id)) {
      count += special->ids.size();
    }
  }
  return count;
}

absl::Status TemplatePostProcessor::ProcessParts(
    std::vector<EncodingPart>* parts, bool add_special_tokens) const {
  if (parts->size() != 1 && parts->size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("TemplateProcessing got ", parts->size(),
                     " sequences, expected 1 or 2"));
  }
  const std::vector<Piece>& pieces = parts->size() == 2 ? pair_ : single_;
  std::vector<EncodingPart> out;
  for (const Piece& piece : pieces) {
    if (piece.is_sequence) {
      const size_t i = static_cast<size_t>(piece.sequence);
      if (i >= parts->size()) {
        return absl::InvalidArgumentError(
            "TemplateProcessing: the single template uses $B");
      }
      EncodingPart part = (*parts)[i];
      part.encoding.type_ids.assign(part.encoding.size(), piece.type_id);
      out.push_back(std::move(part));
    } else if (add_special_tokens) {
      const Special* special = Find(piece.special_id);
      if (special == nullptr) continue;
      out.push_back(SpecialPart(special->ids, special->tokens, piece.type_id));
    }
  }
  *parts = std::move(out);
  return absl::OkStatus();
}

}  // namespace attnserve::core::tokenizers
