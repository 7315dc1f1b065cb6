#ifndef ATTNSERVE_SERVER_INFER_TOKENIZE_H_
#define ATTNSERVE_SERVER_INFER_TOKENIZE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer/wordpiece_tokenizer.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server {

// The model's tokenization of each text; errors name the text (`texts[2]`).
// An empty list is INVALID_ARGUMENT.
absl::StatusOr<std::vector<core::Tokenization>> TokenizeTexts(
    const ServedModel& model, absl::Span<const absl::string_view> texts,
    bool add_special_tokens);

// A text's token ids for the encoder, special tokens included, cut to
// max_length when > 0 (see core::TokenizeOptions); errors name `field`.
absl::StatusOr<core::EncodedIds> EncodeText(const ServedModel& model,
                                            absl::string_view text,
                                            absl::string_view field,
                                            size_t max_length);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFER_TOKENIZE_H_
