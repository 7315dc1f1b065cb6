#include "core/tokenizer/normalized_text.h"

#include <algorithm>

namespace attnserve::core::tokenizers {
namespace {

// The characters of `text` with their byte lengths.
std::vector<std::pair<char32_t, size_t>> Chars(std::string_view text) {
  std::vector<std::pair<char32_t, size_t>> chars;
  chars.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    const char32_t cp = DecodeUtf8(text, pos, &length);
    chars.emplace_back(cp, length);
    pos += length;
  }
  return chars;
}

}  // namespace

NormalizedText::NormalizedText(std::string_view original)
    : normalized_(original),
      original_start_(0),
      original_end_(original.size()) {
  alignments_.resize(original.size());
  for (size_t pos = 0; pos < original.size();) {
    size_t length = 0;
    DecodeUtf8(original, pos, &length);
    const Alignment a{static_cast<uint32_t>(pos),
                      static_cast<uint32_t>(pos + length)};
    for (size_t i = 0; i < length; ++i) alignments_[pos + i] = a;
    pos += length;
  }
}

void NormalizedText::TransformRange(size_t begin, size_t end,
                                    const std::vector<CharChange>& changes,
                                    size_t initial_offset) {
  const std::vector<std::pair<char32_t, size_t>> replaced =
      Chars(std::string_view(normalized_).substr(begin, end - begin));
  size_t next_replaced = 0;
  size_t offset = begin;
  for (; next_replaced < initial_offset && next_replaced < replaced.size();
       ++next_replaced) {
    offset += replaced[next_replaced].second;
  }
  auto alignment_at = [&](size_t idx) {
    // HF indexes without a check; an index past the end cannot come from
    // the components here, but stays in range for safety.
    if (alignments_.empty()) return Alignment{};
    return alignments_[std::min(idx, alignments_.size() - 1)];
  };
  std::string text;
  std::vector<Alignment> alignments;
  text.reserve(end - begin);
  alignments.reserve(end - begin);
  for (const auto& [c, change] : changes) {
    const size_t idx = offset;
    Alignment align;
    if (change > 0) {
      if (idx >= 1) align = alignment_at(idx - 1);
    } else {
      align = alignment_at(idx);
      if (next_replaced < replaced.size()) {
        offset += replaced[next_replaced++].second;
      }
      for (int k = 0; k < -change && next_replaced < replaced.size(); ++k) {
        offset += replaced[next_replaced++].second;
      }
    }
    const size_t length = Utf8Length(c);
    AppendUtf8(c, &text);
    for (size_t k = 0; k < length; ++k) alignments.push_back(align);
  }
  normalized_.replace(begin, end - begin, text);
  alignments_.erase(alignments_.begin() + static_cast<std::ptrdiff_t>(begin),
                    alignments_.begin() + static_cast<std::ptrdiff_t>(end));
  alignments_.insert(alignments_.begin() + static_cast<std::ptrdiff_t>(begin),
                     alignments.begin(), alignments.end());
}

void NormalizedText::Filter(const std::function<bool(char32_t)>& keep) {
  {
    // Nothing to drop: the text and its alignments stay as they are.
    bool drops = false;
    for (size_t pos = 0; pos < normalized_.size() && !drops;) {
      size_t length = 0;
      drops = !keep(DecodeUtf8(normalized_, pos, &length));
      pos += length;
    }
    if (!drops) return;
  }
  // HF's filter: a kept character carries the count of removed characters
  // that follow it; removed leading characters are the initial offset.
  std::vector<CharChange> changes;
  changes.reserve(normalized_.size());
  int removed = 0;
  size_t removed_start = 0;
  bool have_last = false;
  char32_t last = 0;
  for (const auto& [c, length] : Chars(normalized_)) {
    if (keep(c)) {
      if (have_last) {
        changes.emplace_back(last, -removed);
      } else {
        removed_start = static_cast<size_t>(removed);
      }
      last = c;
      have_last = true;
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (have_last) changes.emplace_back(last, -removed);
  Transform(changes, removed_start);
}

void NormalizedText::Map(const std::function<char32_t(char32_t)>& map) {
  // A character mapped to one of the same UTF-8 length keeps its bytes'
  // alignments: rewrite in place unless some length changes.
  std::string mapped;
  mapped.reserve(normalized_.size());
  bool same_lengths = true;
  for (size_t pos = 0; pos < normalized_.size() && same_lengths;) {
    size_t length = 0;
    const char32_t c = map(DecodeUtf8(normalized_, pos, &length));
    same_lengths = Utf8Length(c) == length;
    AppendUtf8(c, &mapped);
    pos += length;
  }
  if (same_lengths) {
    normalized_ = std::move(mapped);
    return;
  }
  std::vector<CharChange> changes;
  changes.reserve(normalized_.size());
  for (const auto& [c, length] : Chars(normalized_)) {
    changes.emplace_back(map(c), 0);
  }
  Transform(changes, 0);
}

void NormalizedText::Lowercase() {
  bool ascii = true;
  for (char c : normalized_) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {  // same bytes, same alignments
    for (char& c : normalized_) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return;
  }
  std::string in_place;
  in_place.reserve(normalized_.size());
  char32_t lowered[2];
  bool same_lengths = true;
  for (size_t pos = 0; pos < normalized_.size() && same_lengths;) {
    size_t length = 0;
    const int n = ToLowercase(DecodeUtf8(normalized_, pos, &length), lowered);
    same_lengths = n == 1 && Utf8Length(lowered[0]) == length;
    AppendUtf8(lowered[0], &in_place);
    pos += length;
  }
  if (same_lengths) {
    normalized_ = std::move(in_place);
    return;
  }
  std::vector<CharChange> changes;
  changes.reserve(normalized_.size());
  for (const auto& [c, length] : Chars(normalized_)) {
    const int n = ToLowercase(c, lowered);
    for (int i = 0; i < n; ++i) changes.emplace_back(lowered[i], i > 0 ? 1 : 0);
  }
  Transform(changes, 0);
}

void NormalizedText::Unicode(UnicodeForm form) {
  bool ascii = true;
  for (char c : normalized_) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return;  // every form is the identity on ASCII
  if (IsNormalizationIdentity(normalized_, form)) return;
  Transform(NormalizeWithChanges(normalized_, form), 0);
}

void NormalizedText::Prepend(std::string_view text) {
  if (normalized_.empty() || text.empty()) return;
  size_t first_length = 0;
  const char32_t first = DecodeUtf8(normalized_, 0, &first_length);
  std::vector<CharChange> changes;
  bool is_first = true;
  for (const auto& [c, length] : Chars(text)) {
    changes.emplace_back(c, is_first ? 0 : 1);
    is_first = false;
  }
  changes.emplace_back(first, 1);
  TransformRange(0, first_length, changes, 0);
}

void NormalizedText::Strip(bool left, bool right) {
  const auto chars = Chars(normalized_);
  size_t leading = 0;
  if (left) {
    while (leading < chars.size() && IsWhitespace(chars[leading].first)) {
      ++leading;
    }
  }
  size_t trailing = 0;
  if (right) {
    while (trailing < chars.size() &&
           IsWhitespace(chars[chars.size() - 1 - trailing].first)) {
      ++trailing;
    }
  }
  if (leading == 0 && trailing == 0) return;
  // HF's lrstrip compares a char index with the byte length here; the
  // change it attaches only matters to characters that follow, of which
  // there are none, so the result is the same.
  std::vector<CharChange> changes;
  const size_t count = chars.size();
  for (size_t i = 0; i < count; ++i) {
    if (i < leading || i + trailing >= count) continue;
    if (i + trailing + 1 == normalized_.size()) {
      changes.emplace_back(chars[i].first, -static_cast<int>(trailing));
    } else {
      changes.emplace_back(chars[i].first, 0);
    }
  }
  Transform(changes, leading);
}

void NormalizedText::Replace(
    const std::vector<std::pair<size_t, size_t>>& matches,
    std::string_view content) {
  if (matches.empty()) return;
  std::string text;
  std::vector<Alignment> alignments;
  text.reserve(normalized_.size());
  alignments.reserve(alignments_.size());
  size_t last_end = 0;
  for (const auto& [start, end] : matches) {
    text.append(normalized_, last_end, start - last_end);
    alignments.insert(
        alignments.end(),
        alignments_.begin() + static_cast<std::ptrdiff_t>(last_end),
        alignments_.begin() + static_cast<std::ptrdiff_t>(start));
    // Every inserted character takes the alignment of the match's last
    // byte (HF: inserted after removing the whole match).
    Alignment align;
    if (end >= 1) align = alignments_[end - 1];
    for (const auto& [c, length] : Chars(content)) {
      AppendUtf8(c, &text);
      alignments.insert(alignments.end(), length, align);
    }
    last_end = end;
  }
  text.append(normalized_, last_end, std::string::npos);
  alignments.insert(alignments.end(),
                    alignments_.begin() + static_cast<std::ptrdiff_t>(last_end),
                    alignments_.end());
  normalized_ = std::move(text);
  alignments_ = std::move(alignments);
}

NormalizedText NormalizedText::Slice(size_t begin, size_t end) const {
  NormalizedText slice;
  slice.normalized_ = normalized_.substr(begin, end - begin);
  slice.alignments_.assign(
      alignments_.begin() + static_cast<std::ptrdiff_t>(begin),
      alignments_.begin() + static_cast<std::ptrdiff_t>(end));
  const auto [start, stop] = OriginalSpan(begin, end);
  slice.original_start_ = start;
  slice.original_end_ = stop;
  return slice;
}

std::pair<size_t, size_t> NormalizedText::OriginalSpan(size_t begin,
                                                       size_t end) const {
  if (begin == end) {
    // HF returns the (relative) normalized range itself, shifted.
    return {original_start_ + begin, original_start_ + end};
  }
  if (normalized_.empty()) return {original_start_, original_end_};
  return {alignments_[begin].start, alignments_[end - 1].end};
}

}  // namespace attnserve::core::tokenizers
