#include "server/infer/detokenize.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::server {

absl::StatusOr<std::vector<std::string>> DetokenizeIds(
    const ServedModel& model,
    absl::Span<const absl::Span<const int32_t>> token_ids,
    bool skip_special_tokens) {
  if (token_ids.empty()) {
    return absl::InvalidArgumentError(
        "token_ids is empty, expected id lists to decode");
  }
  const ServedTokenizer& tokenizer = *model.tokenizer;
  for (size_t i = 0; i < token_ids.size(); ++i) {
    for (size_t j = 0; j < token_ids[i].size(); ++j) {
      const int32_t id = token_ids[i][j];
      // Ids below VocabSize() can still be holes (no token): refuse them too.
      if (id < 0 || !tokenizer.IdToToken(id).has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("token_ids[", i, "].ids[", j, "] is ", id,
                         ", not an id of the model's vocabulary [0, ",
                         tokenizer.VocabSize(), ")"));
      }
    }
  }
  core::tokenizers::DecodeOptions options;
  options.skip_special_tokens = skip_special_tokens;
  options.clean_up_tokenization_spaces =
      tokenizer.clean_up_tokenization_spaces();
  std::vector<std::string> texts;
  texts.reserve(token_ids.size());
  for (absl::Span<const int32_t> ids : token_ids) {
    texts.push_back(tokenizer.Decode(ids, options));
  }
  return texts;
}

}  // namespace attnserve::server
