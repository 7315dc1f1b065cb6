#include "core/tokenizer/pre_tokenizers/byte_level.h"

#include <cstdlib>
#include <utility>
#include <vector>

namespace attnserve::core::tokenizers {

const std::array<char32_t, 256>& ByteLevelAlphabet() {
  static const std::array<char32_t, 256> alphabet = [] {
    std::array<char32_t, 256> table{};
    std::array<bool, 256> printable{};
    for (int b = '!'; b <= '~'; ++b) printable[static_cast<size_t>(b)] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) printable[static_cast<size_t>(b)] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) printable[static_cast<size_t>(b)] = true;
    char32_t next = 256;
    for (size_t b = 0; b < 256; ++b) {
      table[b] = printable[b] ? static_cast<char32_t>(b) : next++;
    }
    return table;
  }();
  return alphabet;
}

int ByteLevelByte(char32_t c) {
  static const std::array<int, 324> reverse = [] {
    std::array<int, 324> table;
    table.fill(-1);
    const auto& alphabet = ByteLevelAlphabet();
    for (size_t b = 0; b < 256; ++b) table[alphabet[b]] = static_cast<int>(b);
    return table;
  }();
  return c < reverse.size() ? reverse[c] : -1;
}

ByteLevelPreTokenizer::ByteLevelPreTokenizer(bool add_prefix_space,
                                             bool use_regex)
    : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {
  absl::StatusOr<std::shared_ptr<const Regex>> regex = Regex::Create(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
  if (!regex.ok()) std::abort();  // a constant pattern
  regex_ = *std::move(regex);
}

void ByteLevelPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  text->SplitEach([&](NormalizedText normalized) {
    if (add_prefix_space_ &&
        (normalized.empty() || normalized.get().front() != ' ')) {
      normalized.Prepend(" ");
    }
    if (!use_regex_) return std::vector<NormalizedText>{std::move(normalized)};
    return SplitByMatches(normalized,
                          FindRegexMatches(*regex_, normalized.get()),
                          SplitBehavior::kIsolated);
  });
  text->NormalizeEach(ToByteLevel);
}

void ToByteLevel(NormalizedText* text) {
  const auto& alphabet = ByteLevelAlphabet();
  const std::string& s = text->get();
  std::vector<CharChange> changes;
  changes.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    size_t length = 0;
    DecodeUtf8(s, pos, &length);
    for (size_t i = 0; i < length; ++i) {
      changes.emplace_back(alphabet[static_cast<unsigned char>(s[pos + i])],
                           i > 0 ? 1 : 0);
    }
    pos += length;
  }
  text->Transform(changes, 0);
}

}  // namespace attnserve::core::tokenizers
