#ifndef ATTNSERVE_SERVER_INFER_TOKENIZE_H_
#define ATTNSERVE_SERVER_INFER_TOKENIZE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer/encoding.h"
#include "prometheus/counter.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server {

// One token as Tokenize reports it: the piece as the vocabulary spells it,
// the byte span of its source in the original text (0, 0 for the tokens the
// post-processor adds) and whether it is special (added by the
// post-processor, or a special added token such as "[MASK]" in the text).
struct TokenPiece {
  int32_t id = 0;
  std::string text;
  uint32_t start = 0;
  uint32_t end = 0;
  bool special = false;
};
using Tokenization = std::vector<TokenPiece>;

// Adds the calling thread's CPU time from construction to destruction to
// model.tokenize_cpu_seconds (when set): put one around each tokenizer call.
class TokenizeCpuTimer {
 public:
  explicit TokenizeCpuTimer(const ServedModel& model);
  ~TokenizeCpuTimer();
  TokenizeCpuTimer(const TokenizeCpuTimer&) = delete;
  TokenizeCpuTimer& operator=(const TokenizeCpuTimer&) = delete;

 private:
  prometheus::Counter* const counter_;
  double start_seconds_ = 0;
};

// The model's tokenization of each text; errors name the text (`texts[2]`).
// An empty list is INVALID_ARGUMENT.
absl::StatusOr<std::vector<Tokenization>> TokenizeTexts(
    const ServedModel& model, absl::Span<const absl::string_view> texts,
    bool add_special_tokens);

// A text's token ids for the encoder, special tokens included, cut to
// max_length when > 0 (see core::tokenizers::EncodeOptions); errors name
// `field`.
absl::StatusOr<core::tokenizers::Encoding> EncodeText(const ServedModel& model,
                                                      absl::string_view text,
                                                      absl::string_view field,
                                                      size_t max_length);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFER_TOKENIZE_H_
