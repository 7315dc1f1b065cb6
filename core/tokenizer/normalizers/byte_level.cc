#include "core/tokenizer/normalizers/byte_level.h"

#include "core/tokenizer/pre_tokenizers/byte_level.h"

namespace attnserve::core::tokenizers {

void ByteLevelNormalizer::Normalize(NormalizedText* text) const {
  if (!text->empty()) ToByteLevel(text);
}

}  // namespace attnserve::core::tokenizers
