#ifndef ATTNSERVE_CORE_LAYERS_GATED_FEED_FORWARD_H_
#define ATTNSERVE_CORE_LAYERS_GATED_FEED_FORWARD_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/dnnl/packed_linear.h"
#include "core/kernels/glu.h"
#include "core/layers/encoder_batch.h"

namespace attnserve::core {

// The gated feed-forward of ModernBERT (GeGLU) and NomicBERT (SwiGLU):
//   out = down(GatedActivation(up(input)))
//   up: [hidden] -> [2 * inner], both halves in one projection (ModernBERT's
//       mlp.Wi; NomicBERT's fc11 then fc12 stacked)
//   down: [inner] -> [hidden]
//   input: [tokens, hidden] in the batch's compute dtype (padded rows)
//   out: [tokens, hidden] FP32 (padded rows)
// The up projection stays FP32 and the gated values are rounded once, to the
// compute dtype (rounding both halves to BF16 first loses ModernBERT's
// 0.999 cosine). Uses the batch's intermediate() buffer, which must be
// GatedIntermediateWidth(inner, compute dtype) wide: the up projection
// [tokens, 2 * inner] FP32, then the gated result [tokens, inner].
absl::Status GatedFeedForward(const PackedLinear& up, const PackedLinear& down,
                              GluActivation activation,
                              GluActivatedHalf activated, const void* input,
                              EncoderBatch* batch, float* out);

// EncoderDims::intermediate_size for a gated feed-forward of width `inner`:
// 2 * inner FP32 values and inner gated ones, in units of `dtype`.
inline int64_t GatedIntermediateWidth(int64_t inner, DType dtype) {
  return dtype == DType::kBF16 ? 5 * inner : 3 * inner;
}

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_GATED_FEED_FORWARD_H_
