#ifndef ATTNSERVE_SERVER_INFER_DETOKENIZE_H_
#define ATTNSERVE_SERVER_INFER_DETOKENIZE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server {

// HF's `decode` of each id list with the model's tokenizer
// (clean_up_tokenization_spaces as its tokenizer_config.json says).
// INVALID_ARGUMENT for no lists or an id outside the vocabulary, naming it:
// `token_ids[1].ids[4]`.
absl::StatusOr<std::vector<std::string>> DetokenizeIds(
    const ServedModel& model,
    absl::Span<const absl::Span<const int32_t>> token_ids,
    bool skip_special_tokens);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFER_DETOKENIZE_H_
