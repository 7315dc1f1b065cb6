#ifndef ATTNSERVE_CORE_MODEL_PACKED_BATCH_H_
#define ATTNSERVE_CORE_MODEL_PACKED_BATCH_H_

#include <cstdint>
#include <vector>

namespace attnserve::core {

// Token ids of several sequences packed end to end, as TEI's backends take
// them: no padding anywhere.
struct PackedBatch {
  // [total_tokens], special tokens included
  std::vector<int32_t> token_ids;
  // [total_tokens], or empty: all 0
  std::vector<int32_t> token_type_ids;
  // [n_seq + 1]: sequence s is tokens [offsets[s], offsets[s + 1])
  std::vector<int64_t> offsets;
};

// [total_tokens]: each token's position in its sequence, 0 for the first
// (models add their own offset, e.g. RoBERTa's padding_idx + 1).
std::vector<int32_t> PositionIds(const PackedBatch& batch);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_PACKED_BATCH_H_
