#include "core/tokenizer/pre_tokenizers/bert.h"

#include <vector>

#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {

void BertPreTokenizer::PreTokenize(PreTokenizedText* text) const {
  // HF splits on White_Space (removed), then isolates punctuation in each
  // piece; one pass gives the same pieces: runs of other characters, and
  // each punctuation character alone.
  text->SplitEach([](NormalizedText normalized) {
    std::vector<NormalizedText> pieces;
    const std::string& s = normalized.get();
    size_t run_start = 0;
    for (size_t pos = 0; pos < s.size();) {
      size_t length = 0;
      const char32_t c = DecodeUtf8(s, pos, &length);
      const bool space = IsWhitespace(c);
      if (space || IsPunctuation(c)) {
        if (run_start < pos) pieces.push_back(normalized.Slice(run_start, pos));
        if (!space) pieces.push_back(normalized.Slice(pos, pos + length));
        run_start = pos + length;
      }
      pos += length;
    }
    if (run_start < s.size()) {
      pieces.push_back(normalized.Slice(run_start, s.size()));
    }
    return pieces;
  });
}

}  // namespace attnserve::core::tokenizers
