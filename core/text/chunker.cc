#include "core/text/chunker.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::core {

absl::Status CheckChunking(const ChunkingOptions& options, size_t specials) {
  if (options.max_tokens <= specials) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunking.max_tokens is ", options.max_tokens,
        ", which leaves no room for text: the model adds ", specials,
        " special tokens to each chunk; expected more than ", specials));
  }
  const size_t window = options.max_tokens - specials;
  if (options.overlap >= window) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunking.overlap is ", options.overlap, ": chunks of ", window,
        " text tokens (max_tokens ", options.max_tokens, " minus ", specials,
        " special tokens) cannot advance; expected an overlap below ", window));
  }
  return absl::OkStatus();
}

std::vector<TextChunk> ChunkEncoding(const tokenizers::Encoding& encoding,
                                     const ChunkingOptions& options) {
  // Content tokens are those of the text (sequence id 0); the
  // post-processor's sit before and after them.
  size_t first = encoding.size(), last = 0;  // content [first, last)
  for (size_t t = 0; t < encoding.size(); ++t) {
    if (encoding.sequence_ids[t] == 0) {
      first = std::min(first, t);
      last = t + 1;
    }
  }
  if (first >= last) first = last = 0;
  auto span = [&](size_t begin, size_t end, TextChunk* chunk) {
    if (begin < end) {
      chunk->start = encoding.offsets[begin].start;
      chunk->end = encoding.offsets[end - 1].end;
    }
  };
  if (encoding.size() <= options.max_tokens) {
    TextChunk whole{encoding.ids, 0, 0};
    span(first, last, &whole);
    return {whole};
  }
  const size_t specials = encoding.size() - (last - first);
  const size_t window = options.max_tokens - specials;
  const size_t step = window - options.overlap;
  std::vector<TextChunk> chunks;
  for (size_t begin = first;; begin += step) {
    const size_t end = std::min(begin + window, last);
    TextChunk& chunk = chunks.emplace_back();
    chunk.ids.reserve(end - begin + specials);
    chunk.ids.insert(chunk.ids.end(), encoding.ids.begin(),
                     encoding.ids.begin() + first);
    chunk.ids.insert(chunk.ids.end(), encoding.ids.begin() + begin,
                     encoding.ids.begin() + end);
    chunk.ids.insert(chunk.ids.end(), encoding.ids.begin() + last,
                     encoding.ids.end());
    span(begin, end, &chunk);
    if (end == last) break;
  }
  return chunks;
}

}  // namespace attnserve::core
