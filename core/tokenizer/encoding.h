#ifndef ATTNSERVE_CORE_TOKENIZER_ENCODING_H_
#define ATTNSERVE_CORE_TOKENIZER_ENCODING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attnserve::core::tokenizers {

// Byte offsets [start, end) into the ORIGINAL UTF-8 text a token came from;
// 0, 0 for the tokens a post-processor adds.
struct Offsets {
  uint32_t start = 0;
  uint32_t end = 0;
  bool operator==(const Offsets& o) const {
    return start == o.start && end == o.end;
  }
};

// HF tokenizers' Encoding (no padding, no overflow).
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<uint32_t> type_ids;
  std::vector<std::string> tokens;  // HF's token strings
  std::vector<Offsets> offsets;
  // 1 for the tokens the post-processor added ([CLS], [SEP], <s>, ...).
  std::vector<uint8_t> special_tokens_mask;
  // Which input a token came from: 0 (text), 1 (pair), -1 (post-processor).
  std::vector<int8_t> sequence_ids;
  // Tokens before truncation, the post-processor's included (for a
  // truncated pair, of the part of each sequence that was tokenized: see
  // Tokenizer::EncodeSequence).
  size_t untruncated_length = 0;

  size_t size() const { return ids.size(); }
  void Append(const Encoding& other);
  void Truncate(size_t length);
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_ENCODING_H_
