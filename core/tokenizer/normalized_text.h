#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZED_TEXT_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZED_TEXT_H_

// HF tokenizers' NormalizedString: a normalized text with, for each of its
// bytes, the byte span of the original character it came from, so that every
// token's offsets map back to the ORIGINAL text through any normalizer.
//
// Alignments are absolute byte offsets into the text given to the
// tokenizer (HF keeps them relative to a slice plus an `original_shift`; the
// sums are the same).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

struct Alignment {
  uint32_t start = 0;
  uint32_t end = 0;
};

class NormalizedText {
 public:
  NormalizedText() = default;
  // The whole `original` text, not normalized yet; `original` must be valid
  // UTF-8 and shorter than 4 GiB.
  explicit NormalizedText(std::string_view original);

  const std::string& get() const { return normalized_; }
  size_t size() const { return normalized_.size(); }
  bool empty() const { return normalized_.empty(); }
  const std::vector<Alignment>& alignments() const { return alignments_; }
  // The span of the original text this (slice of) text covers.
  size_t original_start() const { return original_start_; }
  size_t original_end() const { return original_end_; }

  // HF's transform_range over normalized bytes [begin, end): the characters
  // of `changes` replace that range; `initial_offset` characters at its start
  // are removed first. See CharChange.
  void TransformRange(size_t begin, size_t end,
                      const std::vector<CharChange>& changes,
                      size_t initial_offset);
  void Transform(const std::vector<CharChange>& changes,
                 size_t initial_offset) {
    TransformRange(0, normalized_.size(), changes, initial_offset);
  }

  // The NormalizedString operations the components use.
  void Filter(const std::function<bool(char32_t)>& keep);
  void Map(const std::function<char32_t(char32_t)>& map);
  void Lowercase();
  void Unicode(UnicodeForm form);
  void Prepend(std::string_view text);
  void Strip(bool left, bool right);
  // Replaces each match [start, end) (ascending, disjoint) by `content`.
  void Replace(const std::vector<std::pair<size_t, size_t>>& matches,
               std::string_view content);

  // The sub-text of normalized bytes [begin, end) (character boundaries).
  NormalizedText Slice(size_t begin, size_t end) const;
  // Original byte span of normalized bytes [begin, end), as HF's
  // convert_offsets + original_shift.
  std::pair<size_t, size_t> OriginalSpan(size_t begin, size_t end) const;

 private:
  std::string normalized_;
  std::vector<Alignment> alignments_;
  size_t original_start_ = 0;
  size_t original_end_ = 0;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZED_TEXT_H_
