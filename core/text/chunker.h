#ifndef ATTNSERVE_CORE_TEXT_CHUNKER_H_
#define ATTNSERVE_CORE_TEXT_CHUNKER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tokenizer/encoding.h"

namespace attnserve::core {

// A long text's windows (CONTRACT.md §9 chunking).
struct ChunkingOptions {
  size_t max_tokens = 0;  // tokens per chunk, special tokens included
  size_t overlap = 0;     // content tokens shared by consecutive chunks
};

// One window of a text: its token ids (the post-processor's tokens around
// the window's content tokens) and the UTF-8 byte span [start, end) from the
// first content token's start to the last one's end (0, 0 without content).
struct TextChunk {
  std::vector<int32_t> ids;
  uint32_t start = 0;
  uint32_t end = 0;
};

// Checks the options against a tokenizer adding `specials` tokens to a
// single text: max_tokens must leave room for content, and windows of
// max_tokens - specials content tokens must advance (overlap smaller than
// that). Errors are INVALID_ARGUMENT naming `chunking.max_tokens` or
// `chunking.overlap`.
absl::Status CheckChunking(const ChunkingOptions& options, size_t specials);

// Splits `encoding` (one text encoded with special tokens, untruncated) into
// windows of max_tokens - specials content tokens, starting at content token
// 0 and advancing by max_tokens - specials - overlap; the last may be
// shorter. Each window gets the encoding's leading and trailing
// post-processor tokens. A text of at most max_tokens tokens is one chunk.
// `options` must pass CheckChunking for the encoding's special tokens.
std::vector<TextChunk> ChunkEncoding(const tokenizers::Encoding& encoding,
                                     const ChunkingOptions& options);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_TEXT_CHUNKER_H_
