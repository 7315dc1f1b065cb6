#include "core/kernels/relative_position.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace attnserve::core {

int32_t RelativePositionBucket(int64_t relative_position, int32_t num_buckets,
                               int32_t max_distance) {
  const int64_t n = -relative_position;
  const int32_t half = num_buckets / 2;
  const int32_t exact = half / 2;
  const int32_t base = n < 0 ? half : 0;
  const int64_t distance = std::llabs(n);
  if (distance < exact) return base + int32_t(distance);
  // float throughout, as torch's float32 tensor ops (the double scalars are
  // rounded to float first).
  const float ratio = float(distance) / float(exact);
  const float scale = float(std::log(double(max_distance) / double(exact)));
  const float large = std::log(ratio) / scale * float(half - exact);
  const int64_t bucket = std::min<int64_t>(exact + int64_t(large), half - 1);
  return base + int32_t(bucket);
}

std::vector<float> RelativePositionBiasByOffset(const float* weight,
                                                int64_t heads,
                                                int64_t max_length) {
  const int64_t span = 2 * max_length - 1;
  std::vector<float> out(heads * span);
  for (int64_t d = -(max_length - 1); d < max_length; ++d) {
    const int32_t bucket = RelativePositionBucket(d);
    for (int64_t h = 0; h < heads; ++h) {
      out[h * span + d + max_length - 1] = weight[bucket * heads + h];
    }
  }
  return out;
}

}  // namespace attnserve::core
