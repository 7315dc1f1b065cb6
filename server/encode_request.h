#ifndef ATTNSERVE_SERVER_ENCODE_REQUEST_H_
#define ATTNSERVE_SERVER_ENCODE_REQUEST_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/model/encoder_model.h"
#include "core/models/bert/bert_model.h"
#include "server/encode_work.h"
#include "server/model_registry.h"

namespace attnserve::server {

// An Encode request checked and tokenized: what to compute, and how to shape
// the response afterwards.
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
// `token_ids[1].ids[4]`, `pooling`, `attention_layers[0]`, `attention.top_k`,
// `compute_dtype`) and tokenizes the texts with the model's tokenizer (on the
// calling gRPC thread, so compute workers only compute). Too long without
// `truncate` is INVALID_ARGUMENT naming the text and its length.
absl::StatusOr<PreparedEncode> PrepareEncode(const v1::EncodeRequest& request,
                                             const ServedModel& model);

// Fills `response` from a computed EncodeWork: pooled (and normalised)
// embeddings, token embeddings [seq, hidden] and attention maps
// [heads, seq, seq] when asked. An OK answer never carries NaN or Inf: a
// sequence whose results are not finite fails the call, INVALID_ARGUMENT
// naming `attention.scale` when the request set one (its scores overflowed),
// else INTERNAL naming the sequence.
absl::Status FillEncodeResponse(const PreparedEncode& prepared,
                                const EncodeWork& work,
                                const ServedModel& model,
                                v1::EncodeResponse* response);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_ENCODE_REQUEST_H_
