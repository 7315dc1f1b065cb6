#ifndef ATTNSERVE_CORE_LAYERS_FEED_FORWARD_H_
#define ATTNSERVE_CORE_LAYERS_FEED_FORWARD_H_

#include "absl/status/status.h"
#include "core/dnnl/packed_linear.h"
#include "core/layers/encoder_batch.h"

namespace attnserve::core {

// The position-wise feed-forward of BERT-like layers,
// out = down(activation(up(input))), the activation fused into the up matmul:
//   up: [hidden] -> [intermediate]   down: [intermediate] -> [hidden]
//   input: [tokens, hidden] in the batch's compute dtype (padded rows)
//   out: [tokens, hidden] FP32 (padded rows)
// Uses the batch's intermediate() buffer.
absl::Status FeedForward(const PackedLinear& up, const PackedLinear& down,
                         LinearActivation activation, const void* input,
                         EncoderBatch* batch, float* out);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_FEED_FORWARD_H_
