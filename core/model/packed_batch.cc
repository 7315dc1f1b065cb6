#include "core/model/packed_batch.h"

#include <cstddef>

namespace attnserve::core {

std::vector<int32_t> PositionIds(const PackedBatch& batch) {
  std::vector<int32_t> positions(batch.token_ids.size());
  for (size_t s = 0; s + 1 < batch.offsets.size(); ++s) {
    for (int64_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      positions[t] = static_cast<int32_t>(t - batch.offsets[s]);
    }
  }
  return positions;
}

}  // namespace attnserve::core
