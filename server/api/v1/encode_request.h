#ifndef ATTNSERVE_SERVER_API_V1_ENCODE_REQUEST_H_
#define ATTNSERVE_SERVER_API_V1_ENCODE_REQUEST_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attnserve/v1/attnserve.pb.h"
#include "server/infer/embed.h"
#include "server/infer/encode_work.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server {

// v1 EncodeRequest -> PrepareEmbed: converts pooling, compute_dtype and the
// attention spec (errors name them: `pooling`, `compute_dtype`,
// `attention.top_k`), then checks and tokenizes as PrepareEmbed does.
absl::StatusOr<PreparedEncode> PrepareEncode(const v1::EncodeRequest& request,
                                             const ServedModel& model);

// FinishEmbed -> v1 EncodeResponse: pooled embeddings, token embeddings
// [seq, hidden] and attention maps [heads, seq, seq] when asked.
absl::Status FillEncodeResponse(const PreparedEncode& prepared,
                                const EncodeWork& work,
                                const ServedModel& model,
                                v1::EncodeResponse* response);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_API_V1_ENCODE_REQUEST_H_
