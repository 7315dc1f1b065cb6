#include "core/tokenizer/normalizers/precompiled.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::core::tokenizers {
namespace {

// darts-clone unit fields.
bool HasLeaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t Value(uint32_t unit) { return unit & ((1u << 31) - 1); }
uint32_t Label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
size_t Offset(uint32_t unit) {
  return static_cast<size_t>((unit >> 10) << ((unit & (1u << 9)) >> 6));
}

size_t CountChars(std::string_view text) {
  size_t count = 0;
  for (unsigned char b : text) count += (b & 0xC0) != 0x80;
  return count;
}

// spm_precompiled's replace(): the new characters replace the old ones; the
// surplus is inserted, a shortfall removed after the last one written.
void AppendReplacement(std::string_view old_part, std::string_view new_part,
                       std::vector<CharChange>* changes) {
  const auto old_count = static_cast<std::ptrdiff_t>(CountChars(old_part));
  const auto new_count = static_cast<std::ptrdiff_t>(CountChars(new_part));
  const std::ptrdiff_t diff = new_count - old_count;
  for (size_t pos = 0; pos < new_part.size();) {
    size_t length = 0;
    changes->emplace_back(DecodeUtf8(new_part, pos, &length), 0);
    pos += length;
  }
  if (diff > 0) {
    for (std::ptrdiff_t i = 0; i < diff; ++i) {
      (*changes)[changes->size() - 1 - static_cast<size_t>(i)].second = 1;
    }
  } else if (diff < 0 && !changes->empty()) {
    changes->back().second += static_cast<int>(diff);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrecompiledNormalizer>>
PrecompiledNormalizer::Create(std::string charsmap) {
  if (charsmap.size() < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("is ", charsmap.size(), " bytes, expected >= 4"));
  }
  uint32_t trie_size = 0;
  for (int i = 3; i >= 0; --i) {
    trie_size = (trie_size << 8) | static_cast<unsigned char>(charsmap[i]);
  }
  if (trie_size % 4 != 0 || trie_size > charsmap.size() - 4 || trie_size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("has a trie size of ", trie_size, " does not fit the ",
                     charsmap.size(), " bytes"));
  }
  std::unique_ptr<PrecompiledNormalizer> normalizer(new PrecompiledNormalizer);
  normalizer->array_.resize(trie_size / 4);
  for (size_t i = 0; i < normalizer->array_.size(); ++i) {
    uint32_t unit = 0;
    for (int b = 3; b >= 0; --b) {
      unit = (unit << 8) | static_cast<unsigned char>(
                               charsmap[4 + i * 4 + static_cast<size_t>(b)]);
    }
    normalizer->array_[i] = unit;
  }
  normalizer->normalized_ = charsmap.substr(4 + trie_size);
  if (FirstInvalidUtf8(normalizer->normalized_) >= 0) {
    return absl::InvalidArgumentError(
        "has normalized strings that are not valid UTF-8");
  }
  return normalizer;
}

std::optional<std::string_view> PrecompiledNormalizer::Transform(
    std::string_view chunk) const {
  // darts-clone common prefix search; the first hit is the shortest prefix.
  size_t node = 0;
  if (array_.empty()) return std::nullopt;
  node ^= Offset(array_[0]);
  for (unsigned char c : chunk) {
    if (c == 0) break;
    node ^= c;
    if (node >= array_.size()) return std::nullopt;
    const uint32_t unit = array_[node];
    if (Label(unit) != c) return std::nullopt;
    node ^= Offset(unit);
    if (node >= array_.size()) return std::nullopt;
    if (HasLeaf(unit)) {
      const size_t index = Value(array_[node]);
      if (index >= normalized_.size()) return std::nullopt;
      const size_t end = normalized_.find('\0', index);
      return std::string_view(normalized_)
          .substr(index, (end == std::string::npos ? normalized_.size() : end) -
                             index);
    }
  }
  return std::nullopt;
}

void PrecompiledNormalizer::Normalize(NormalizedText* text) const {
  const std::string& s = text->get();
  std::vector<CharChange> changes;
  changes.reserve(s.size());
  bool modified = false;
  size_t pos = 0;
  for (size_t grapheme_length : GraphemeLengths(s)) {
    const std::string_view grapheme =
        std::string_view(s).substr(pos, grapheme_length);
    pos += grapheme_length;
    if (grapheme.size() < 6) {
      if (std::optional<std::string_view> norm = Transform(grapheme)) {
        modified = true;
        AppendReplacement(grapheme, *norm, &changes);
        continue;
      }
    }
    for (size_t i = 0; i < grapheme.size();) {
      size_t length = 0;
      const char32_t c = DecodeUtf8(grapheme, i, &length);
      const std::string_view part = grapheme.substr(i, length);
      i += length;
      if (std::optional<std::string_view> norm = Transform(part)) {
        modified = true;
        AppendReplacement(part, *norm, &changes);
      } else {
        changes.emplace_back(c, 0);
      }
    }
  }
  if (modified) text->Transform(changes, 0);
}

}  // namespace attnserve::core::tokenizers
