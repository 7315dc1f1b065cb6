#ifndef ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_POST_PROCESSOR_H_
#define ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_POST_PROCESSOR_H_

// tokenizer.json's "post_processor" section (HF tokenizers' PostProcessor
// trait): special tokens around the encoded text(s), type ids, offset
// trimming.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/tokenizer/encoding.h"

namespace attnserve::core::tokenizers {

// One piece of the final encoding, with the original text its offsets point
// into (empty for special tokens).
struct EncodingPart {
  Encoding encoding;
  std::string_view source;
};

// Immutable after construction; const methods are thread-safe.
class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Tokens added to one text (or a pair) with add_special_tokens.
  virtual size_t AddedTokens(bool is_pair) const = 0;
  // HF's process_encodings: rewrites the parts (1 or 2 on entry); the
  // tokenizer concatenates them afterwards.
  virtual absl::Status ProcessParts(std::vector<EncodingPart>* parts,
                                    bool add_special_tokens) const = 0;
};

// A special token and its id, as BertProcessing's and RobertaProcessing's
// "sep" / "cls".
struct SpecialToken {
  std::string token;
  int32_t id = 0;
};

// A run of special tokens as one part (type id `type_id`, offsets 0, 0).
EncodingPart SpecialPart(const std::vector<int32_t>& ids,
                         const std::vector<std::string>& tokens,
                         uint32_t type_id);
EncodingPart SpecialPart(const SpecialToken& token, uint32_t type_id);

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_POST_PROCESSOR_H_
