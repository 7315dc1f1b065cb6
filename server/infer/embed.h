#ifndef ATTNSERVE_SERVER_INFER_EMBED_H_
#define ATTNSERVE_SERVER_INFER_EMBED_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/attention/attention.h"
#include "core/base/tensor.h"
#include "core/layers/pooling.h"
#include "core/model/encoder_model.h"
#include "core/model/heads/masked_lm_head.h"
#include "core/text/chunker.h"
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
  // A key of the model's config_sentence_transformers.json prompts: that
  // prompt is prepended to every text. Empty: the model's
  // default_prompt_name, if any (as sentence-transformers does).
  absl::string_view prompt_name;
  // Set: every text is split into windows (CONTRACT.md §9), never refused for
  // length; max_tokens 0 means the model's max length. Texts only; no token
  // embeddings or attention maps.
  std::optional<core::ChunkingOptions> chunking;
  // SPLADE instead of pooling: needs a model serving "sparse".
  bool sparse = false;
  // Names the texts in errors ("texts[3]"): the protocol's field or input.
  absl::string_view texts_field = "texts";
};

// The prompt to prepend to the texts of a call naming `prompt_name` (see
// EmbedRequest::prompt_name); "" when none applies. An unknown name is
// INVALID_ARGUMENT listing the model's prompt names.
absl::StatusOr<absl::string_view> ResolvePrompt(const ServedModel& model,
                                                absl::string_view prompt_name);

// An embedding request checked and tokenized: what to compute, and how to
// shape the answer afterwards.
struct PreparedEncode {
  std::vector<std::vector<int32_t>>
      token_ids;  // per text, special tokens included
  core::EncodeOptions options;
  core::Pooling pooling = core::Pooling::kCls;
  bool normalize = false;
  bool return_token_embeddings = false;
  // Names the sequences in errors: the request's texts_field or "token_ids".
  std::string sequences_field = "texts";
  // With chunking: text i is sequences [chunk_offsets[i], chunk_offsets[i+1])
  // and chunk_spans[s] is sequence s's byte span in its text. Empty without.
  std::vector<size_t> chunk_offsets;
  std::vector<std::pair<uint32_t, uint32_t>> chunk_spans;
  // SPLADE: the model's masked-LM head (alive as long as the model).
  std::shared_ptr<const core::MaskedLmHead> sparse;
};

// Checks every field (errors are INVALID_ARGUMENT naming it: `texts[3]`,
// `token_ids[1].ids[4]`, `attention_layers[0]`, `attention.top_k`) and
// tokenizes the texts with the model's tokenizer (on the calling thread, so
// compute workers only compute). Too long without `truncate` is
// INVALID_ARGUMENT naming the text and its length. The prompt counts as part
// of each text (its tokens are encoded, pooled and counted).
absl::StatusOr<PreparedEncode> PrepareEmbed(const EmbedRequest& request,
                                            const ServedModel& model);

// One chunk of a chunked text.
struct EmbedChunk {
  core::Tensor pooled;  // [hidden] FP32, normalised when asked
  uint32_t start = 0;   // UTF-8 byte span in the text
  uint32_t end = 0;
  uint32_t num_tokens = 0;
};

// One sequence's (or chunked text's) answer.
struct EmbedSequence {
  core::Tensor pooled;                  // [hidden] FP32, normalised when asked
  core::Tensor token_embeddings;        // [len, hidden] FP32, when asked
  std::vector<core::Tensor> attention;  // per requested layer [heads, len, len]
  uint32_t num_tokens = 0;              // chunked: the chunks' tokens together
  // With chunking; `pooled` is then the chunks' (un-normalised) pooled
  // vectors averaged with their num_tokens as weights, normalised after.
  std::vector<EmbedChunk> chunks;
  // With SPLADE (`pooled` is then empty).
  core::SparseVector sparse;
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
