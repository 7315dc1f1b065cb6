#ifndef ATTNSERVE_CORE_KERNELS_RELATIVE_POSITION_H_
#define ATTNSERVE_CORE_KERNELS_RELATIVE_POSITION_H_

#include <cstdint>
#include <vector>

namespace attnserve::core {

// The bidirectional relative-position bucket of T5 as MPNet uses it
// (MPNetEncoder.relative_position_bucket; compute_position_bias always calls
// it with num_buckets 32 and max_distance 128, whatever the config says):
//   n = query - key; half = num_buckets / 2; exact = half / 2
//   bucket = (n < 0 ? half : 0) + (|n| < exact ? |n| :
//            min(half - 1, exact + trunc(log(|n| / exact) /
//                                        log(max_distance / exact) *
//                                        (half - exact))))
// The logarithm term is computed in float, as torch does, so the buckets at
// the boundaries (|n| = 16, 32, 64, ...) are the ones the checkpoints were
// trained with.
//   relative_position: key position - query position
int32_t RelativePositionBucket(int64_t relative_position,
                               int32_t num_buckets = 32,
                               int32_t max_distance = 128);

// MPNet's per-head position bias for every key - query offset of sequences up
// to max_length tokens, from the relative_attention_bias embedding:
//   weight: [num_buckets, heads] FP32 (nn.Embedding(num_buckets, heads)),
//           num_buckets >= 32
//   returns [heads, 2 * max_length - 1]: entry [h, d + max_length - 1] is
//           weight[RelativePositionBucket(d), h] for d in
//           (-max_length, max_length).
// The scores of query i against keys [0, n) of head h then add the
// contiguous slice starting at [h, max_length - 1 - i].
std::vector<float> RelativePositionBiasByOffset(const float* weight,
                                                int64_t heads,
                                                int64_t max_length);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_KERNELS_RELATIVE_POSITION_H_
