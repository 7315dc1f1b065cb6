#ifndef ATTNSERVE_SERVER_INFER_CLASSIFY_H_
#define ATTNSERVE_SERVER_INFER_CLASSIFY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/dtype.h"
#include "core/model/encoder_model.h"
#include "server/infer/encode_work.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server {

// Sequences (single texts or text pairs) tokenized for a classifier head.
struct PreparedSequences {
  std::vector<std::vector<int32_t>> token_ids;
  // Empty, or per sequence (pairs whose template gives the second segment
  // type 1, as BERT's does).
  std::vector<std::vector<int32_t>> token_type_ids;
  core::EncodeOptions options;
};

// Encodes each (firsts[i], seconds[i]) pair with the tokenizer's pair template
// (or firsts[i] alone when `seconds` is empty). With `truncate`, HF's
// truncation=True (LongestFirst) at the model's max length; without it, too
// long is INVALID_ARGUMENT naming `second_field`[i] (or `first_field`[i]).
// The encoder computes in `compute_dtype`.
absl::StatusOr<PreparedSequences> PrepareSequences(
    const ServedModel& model, absl::Span<const absl::string_view> firsts,
    absl::Span<const absl::string_view> seconds, bool truncate,
    absl::string_view first_field, absl::string_view second_field,
    core::DType compute_dtype);

// The classifier head's logits of each computed sequence, [sequences][labels];
// INTERNAL naming the sequence when they are not finite.
absl::StatusOr<std::vector<std::vector<float>>> HeadLogits(
    const ServedModel& model, const EncodeWork& work,
    absl::string_view sequences_field);

// Tokens of the computed sequences, special tokens included.
uint64_t TotalTokens(const EncodeWork& work);

// ----------------------------------------------------------------- Classify
struct ClassifyRequest {
  std::vector<absl::string_view> texts;
  std::vector<absl::string_view> text_pairs;  // empty, or one per text
  bool truncate = false;
  bool raw_scores = false;  // false: softmax, or sigmoid for multi-label
  core::DType compute_dtype = core::DType::kFP32;
  // Name the texts and pairs in errors: the protocol's fields or inputs.
  absl::string_view texts_field = "texts";
  absl::string_view text_pairs_field = "text_pairs";
};
struct LabelScore {
  std::string label;
  float score = 0;
  uint32_t id = 0;  // the label's index in the model's labels
};
struct ClassifyResult {
  std::vector<std::vector<LabelScore>> results;  // per text, highest first
  uint64_t total_tokens = 0;
};
absl::StatusOr<PreparedSequences> PrepareClassify(
    const ClassifyRequest& request, const ServedModel& model);
absl::StatusOr<ClassifyResult> FinishClassify(const ClassifyRequest& request,
                                              const EncodeWork& work,
                                              const ServedModel& model);

// ------------------------------------------------------------------- Rerank
struct RerankRequest {
  absl::string_view query;
  std::vector<absl::string_view> texts;
  bool truncate = false;
  bool raw_scores = false;  // false: sigmoid of the logit
  uint32_t top_n = 0;       // 0: every text
  core::DType compute_dtype = core::DType::kFP32;
  // Names the texts in errors: the protocol's field or input.
  absl::string_view texts_field = "texts";
};
struct Rank {
  uint32_t index = 0;
  float score = 0;
};
struct RerankResult {
  std::vector<Rank> ranks;  // highest score first, ties by lower index
  uint64_t total_tokens = 0;
};
absl::StatusOr<PreparedSequences> PrepareRerank(const RerankRequest& request,
                                                const ServedModel& model);
absl::StatusOr<RerankResult> FinishRerank(const RerankRequest& request,
                                          const EncodeWork& work,
                                          const ServedModel& model);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFER_CLASSIFY_H_
