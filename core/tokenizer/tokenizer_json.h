#ifndef ATTNSERVE_CORE_TOKENIZER_TOKENIZER_JSON_H_
#define ATTNSERVE_CORE_TOKENIZER_TOKENIZER_JSON_H_

// tokenizer.json (HF tokenizers' serialisation) -> Tokenizer. A pure
// function of the bytes (no I/O), so a fuzzer can drive it. Every section is
// read through a table of component types (one entry per normalizer,
// pre-tokenizer, model, post-processor and decoder type); anything else fails
// naming its JSON path:
//   normalizer.normalizers[2].type = "Precompiledx" is not supported
// "truncation" and "padding" are ignored (callers choose per request).

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/tokenizer/tokenizer.h"

namespace attnserve::core::tokenizers {

// What tokenizer_config.json adds to tokenizer.json.
struct TokenizerSettings {
  int64_t model_max_length = 0;  // 0: unset
  bool clean_up_tokenization_spaces = false;
};

// INVALID_ARGUMENT naming "tokenizer.json: <path>" on any error.
absl::StatusOr<std::unique_ptr<Tokenizer>> ParseTokenizerJson(
    std::string_view bytes, const TokenizerSettings& settings = {});

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_TOKENIZER_JSON_H_
