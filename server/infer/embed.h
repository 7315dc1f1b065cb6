#ifndef ATTNSERVE_SERVER_INFER_EMBED_H_
#define ATTNSERVE_SERVER_INFER_EMBED_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/attention/attention.h"
#include "core/base/tensor.h"
#include "core/layers/pooling.h"
#include "core/model/encoder_model.h"
#include "server/infer/encode_work.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server {

// An embedding request of any protocol, in core terms. Texts and id lists
// are views into the caller's request, valid while PrepareEmbed runs.
struct EmbedRequest {
  std::vector<absl::string_view> texts;  // set texts or token_ids
  std::vector<absl::Span<const int32_t>> token_ids;
  std::optional<core::Pooling> pooling;  // unset: the model's default
  bool normalize = false;  // or the model's sentence-transformers default
  bool truncate = false;   // cut to the max length; else too long is refused
  bool return_token_embeddings = false;
  std::vector<int32_t> attention_layers;  // -1 = the last
  // Unset: the model's own attention; else every layer uses it. Errors about
  // it name the field "attention".
  std::optional<core::AttentionSpec> attention;
  core::DType compute_dtype = core::DType::kFP32;
};

// An embedding request checked and tokenized: what to compute, and how to
// shape the answer afterwards.
struct PreparedEncode {
  std::vector<std::vector<int32_t>>
      token_ids;  // per text, special tokens included
  core::EncodeOptions options;
  core::Pooling pooling = core::Pooling::kCls;
  bool normalize = false;
  bool return_token_embeddings = false;
  // Names the sequences in errors: "texts" or "token_ids".
  const char* sequences_field = "texts";
};

// Checks every field (errors are INVALID_ARGUMENT naming it: `texts[3]`,
// `token_ids[1].ids[4]`, `attention_layers[0]`, `attention.top_k`) and
// tokenizes the texts with the model's tokenizer (on the calling thread, so
// compute workers only compute). Too long without `truncate` is
// INVALID_ARGUMENT naming the text and its length.
absl::StatusOr<PreparedEncode> PrepareEmbed(const EmbedRequest& request,
                                            const ServedModel& model);

// One sequence's answer.
struct EmbedSequence {
  core::Tensor pooled;                  // [hidden] FP32, normalised when asked
  core::Tensor token_embeddings;        // [len, hidden] FP32, when asked
  std::vector<core::Tensor> attention;  // per requested layer [heads, len, len]
  uint32_t num_tokens = 0;
};
struct EmbedResult {
  std::vector<EmbedSequence> sequences;
  uint64_t total_tokens = 0;
};

// Pools (and normalises) a computed EncodeWork. An OK answer never carries
// NaN or Inf: a sequence whose results are not finite fails the call,
// INVALID_ARGUMENT naming `attention.scale` when the request set one (its
// scores overflowed), else INTERNAL naming the sequence.
absl::StatusOr<EmbedResult> FinishEmbed(const PreparedEncode& prepared,
                                        const EncodeWork& work);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFER_EMBED_H_
