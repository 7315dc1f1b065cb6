#ifndef ATTNSERVE_SERVER_API_V1_PROTO_CONVERT_H_
#define ATTNSERVE_SERVER_API_V1_PROTO_CONVERT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/attention/attention.h"
#include "core/base/tensor.h"
#include "core/model/encoder_model.h"
#include "server/infer/attention_work.h"

namespace attnserve::server {

// Size limits applied while converting requests. Exceeding one is
// RESOURCE_EXHAUSTED (the request is well-formed but too big to serve),
// except a shape whose element count cannot fit any message, which is
// INVALID_ARGUMENT.
struct ConversionLimits {
  // Largest element count of one tensor (a message of N bytes holds at most
  // N / 2 elements of the smallest dtype).
  int64_t max_tensor_elements = int64_t{64} << 20 >> 1;
  // Largest response (output plus weights) in bytes; the same limit as the
  // largest message gRPC will send.
  int64_t max_response_bytes = int64_t{64} << 20;
  // Largest batch * heads * q_len * k_len (attention scores) of one request.
  int64_t max_attention_scores = int64_t{1} << 28;
};

ConversionLimits LimitsForMaxMessageBytes(int64_t max_message_bytes);

// FP32 (or UNSPECIFIED) and BF16 as a core dtype; anything else is
// INVALID_ARGUMENT naming `field` (e.g. "compute_dtype").
absl::StatusOr<core::DType> ComputeDTypeFromProto(int dtype,
                                                  absl::string_view field);

// Converts a proto AttentionSpec (enum values checked; the rest is checked by
// core::ValidateAttentionSpec). `field` prefixes errors ("spec", "attention").
absl::StatusOr<core::AttentionSpec> SpecFromProto(
    const v1::AttentionSpec& proto, absl::string_view field);

// Converts a proto tensor to a core tensor. `field` (e.g. "query") prefixes
// every error message. Rules:
//   - shape has rank >= 1 and every dim >= 1 (no empty tensors);
//   - exactly one of values / raw is set, with exactly prod(shape) elements;
//   - values are FP32 (dtype must be UNSPECIFIED or FP32);
//   - raw is little-endian `dtype`: FP32 / UNSPECIFIED and FP16 become an FP32
//     tensor, BF16 stays BF16.
absl::StatusOr<core::Tensor> TensorFromProto(const v1::Tensor& proto,
                                             absl::string_view field,
                                             const ConversionLimits& limits);

// Writes `tensor` as shape + dtype (FP32 or BF16) + little-endian raw bytes.
void TensorToProto(const core::Tensor& tensor, v1::Tensor* proto);

// Converts and checks the request's form: ranks, dtypes, tensor encodings and
// size limits. Shape agreement, values (NaN/Inf), top_k, windows,
// global_positions and key_lengths are checked by core::ValidateAttention.
//   query: [B, H, Sq, D] or [B, Sq, D]; key: like query with Sk (unset ->
//   query); value: [.., Sk, Dv] (unset -> key); mask: FP32, rank <= query's
//   rank, right-aligned to [B, H, Sq, Sk] (a rank-3 mask of a rank-3 request is
//   [B, Sq, Sk]).
absl::StatusOr<AttendCall> AttendCallFromProto(const v1::AttendRequest& request,
                                               const ConversionLimits& limits);

// Fills `response` from the core outputs:
//   output: [B, H, Sq, Dv] (or [B, Sq, Dv] when single_head) in output_dtype
//   weights (when present): [B, H, Sq, Sk] (or [B, Sq, Sk]) FP32
void AttendResponseFromOutputs(const core::AttentionOutputs& outputs,
                               bool single_head, v1::AttendResponse* response);

// Converts a MultiHeadAttend request's tensors (FP32; BF16 raw is widened)
// and spec; the core checks shapes against the model (hidden size, layer,
// lengths) and values (NaN/Inf).
//   hidden: [batch, seq, hidden_size]; context: [batch, ctx_len, hidden_size]
//   (unset -> empty, i.e. self-attention)
absl::StatusOr<core::MultiHeadAttendInputs> MultiHeadInputsFromProto(
    const v1::MultiHeadAttendRequest& request, const ConversionLimits& limits);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_API_V1_PROTO_CONVERT_H_
