#include "server/infer/tokenize.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::server {
namespace {

absl::Status Named(absl::string_view field, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(field, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::vector<core::Tokenization>> TokenizeTexts(
    const ServedModel& model, absl::Span<const absl::string_view> texts,
    bool add_special_tokens) {
  if (texts.empty()) {
    return absl::InvalidArgumentError("texts is empty, expected texts");
  }
  core::TokenizeOptions options;
  options.add_special_tokens = add_special_tokens;
  std::vector<core::Tokenization> result;
  result.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    absl::StatusOr<core::Tokenization> tokens =
        model.tokenizer->Tokenize(texts[i], options);
    if (!tokens.ok()) {
      return Named(absl::StrCat("texts[", i, "]"), tokens.status());
    }
    result.push_back(*std::move(tokens));
  }
  return result;
}

absl::StatusOr<core::EncodedIds> EncodeText(const ServedModel& model,
                                            absl::string_view text,
                                            absl::string_view field,
                                            size_t max_length) {
  core::TokenizeOptions options;
  options.max_length = max_length;
  absl::StatusOr<core::EncodedIds> ids =
      model.tokenizer->EncodeIds(text, options);
  if (!ids.ok()) return Named(field, ids.status());
  return ids;
}

}  // namespace attnserve::server
