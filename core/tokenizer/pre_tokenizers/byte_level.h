#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_BYTE_LEVEL_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_BYTE_LEVEL_H_

#include <array>
#include <memory>

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// GPT-2's byte -> printable character map (bytes_char): the byte-level
// alphabet of ByteLevel BPE vocabularies.
const std::array<char32_t, 256>& ByteLevelAlphabet();
// The byte a byte-level character stands for, or -1.
int ByteLevelByte(char32_t c);
// Every byte of `text` as its alphabet character: the first byte's replaces
// the original character, the others are inserted after it.
void ToByteLevel(NormalizedText* text);

// ByteLevel: optionally a ' ' before a split not starting with one; then
// (use_regex) GPT-2's split pattern, isolated; then every byte of each split
// mapped to its alphabet character (the first replaces the original
// character, the others are inserted after it).
class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex);
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  bool add_prefix_space_;
  bool use_regex_;
  std::shared_ptr<const Regex> regex_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_BYTE_LEVEL_H_
