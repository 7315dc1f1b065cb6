#include "core/tokenizer/encoding.h"

namespace attnserve::core::tokenizers {

void Encoding::Append(const Encoding& other) {
  ids.insert(ids.end(), other.ids.begin(), other.ids.end());
  type_ids.insert(type_ids.end(), other.type_ids.begin(), other.type_ids.end());
  tokens.insert(tokens.end(), other.tokens.begin(), other.tokens.end());
  offsets.insert(offsets.end(), other.offsets.begin(), other.offsets.end());
  special_tokens_mask.insert(special_tokens_mask.end(),
                             other.special_tokens_mask.begin(),
                             other.special_tokens_mask.end());
  sequence_ids.insert(sequence_ids.end(), other.sequence_ids.begin(),
                      other.sequence_ids.end());
}

void Encoding::Truncate(size_t length) {
  if (length >= ids.size()) return;
  ids.resize(length);
  type_ids.resize(length);
  tokens.resize(length);
  offsets.resize(length);
  special_tokens_mask.resize(length);
  sequence_ids.resize(length);
}

}  // namespace attnserve::core::tokenizers
