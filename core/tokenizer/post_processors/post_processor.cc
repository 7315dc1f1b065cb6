#include "core/tokenizer/post_processors/post_processor.h"

namespace attnserve::core::tokenizers {

EncodingPart SpecialPart(const std::vector<int32_t>& ids,
                         const std::vector<std::string>& tokens,
                         uint32_t type_id) {
  EncodingPart part;
  Encoding& e = part.encoding;
  e.ids = ids;
  e.tokens = tokens;
  e.type_ids.assign(ids.size(), type_id);
  e.offsets.assign(ids.size(), Offsets{});
  e.special_tokens_mask.assign(ids.size(), 1);
  e.sequence_ids.assign(ids.size(), -1);
  return part;
}

EncodingPart SpecialPart(const SpecialToken& token, uint32_t type_id) {
  return SpecialPart({token.id}, {token.token}, type_id);
}

}  // namespace attnserve::core::tokenizers
