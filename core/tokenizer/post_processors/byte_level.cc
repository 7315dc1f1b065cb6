#include "core/tokenizer/post_processors/byte_level.h"

#include <algorithm>

#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {
namespace {

bool IsSpaceLike(char32_t c) { return c == 0x120 || IsWhitespace(c); }

bool IsContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

void TrimByteLevelOffsets(Encoding* encoding, std::string_view source,
                          bool add_prefix_space) {
  for (size_t i = 0; i < encoding->size(); ++i) {
    const std::string& token = encoding->tokens[i];
    std::vector<char32_t> chars;
    for (size_t pos = 0; pos < token.size();) {
      size_t length = 0;
      chars.push_back(DecodeUtf8(token, pos, &length));
      pos += length;
    }
    size_t leading = 0;
    while (leading < chars.size() && IsSpaceLike(chars[leading])) ++leading;
    size_t trailing = 0;
    while (trailing < chars.size() &&
           IsSpaceLike(chars[chars.size() - 1 - trailing])) {
      ++trailing;
    }
    if (leading == 0 && trailing == 0) continue;
    Offsets& o = encoding->offsets[i];
    if (leading > 0) {
      const bool is_first = i == 0 || o.start == 0;
      if (is_first && add_prefix_space && leading == 1) leading = 0;
      // start + leading characters, at most end.
      size_t pos = o.start;
      for (size_t k = 0; k < leading && pos < o.end; ++k) {
        ++pos;
        while (pos < source.size() && IsContinuation(source[pos])) ++pos;
      }
      o.start = static_cast<uint32_t>(std::min<size_t>(pos, o.end));
    }
    if (trailing > 0) {
      // end - trailing characters when end has that many before it, at
      // least start.
      size_t pos = o.end;
      size_t moved = 0;
      while (moved < trailing && pos > 0) {
        --pos;
        while (pos > 0 && pos < source.size() && IsContinuation(source[pos])) {
          --pos;
        }
        ++moved;
      }
      if (moved == trailing) {
        o.end = static_cast<uint32_t>(std::max<size_t>(pos, o.start));
      }
    }
  }
}

absl::Status ByteLevelPostProcessor::ProcessParts(
    std::vector<EncodingPart>* parts, bool) const {
  if (trim_offsets_) {
    for (EncodingPart& part : *parts) {
      TrimByteLevelOffsets(&part.encoding, part.source, add_prefix_space_);
    }
  }
  return absl::OkStatus();
}

}  // namespace attnserve::core::tokenizers
