#include "core/layers/embeddings.h"

#include "core/base/parallel.h"
#include "core/kernels/layer_norm.h"

namespace attnserve::core {

void EmbedTokens(const Tensor& word, const Tensor& position,
                 int64_t position_offset, const Tensor& token_type,
                 const Tensor& norm_gamma, const Tensor& norm_beta,
                 float norm_eps, EncoderBatch* batch) {
  const PackedBatch& packed = batch->batch();
  const int64_t hidden = word.dim(1);
  const absl::Span<const int32_t> positions = batch->positions();
  const float* word_rows = word.data<float>();
  const float* position_rows =
      position.empty() ? nullptr : position.data<float>();
  const float* type_rows =
      token_type.empty() ? nullptr : token_type.data<float>();
  float* sum = batch->projected();
  ParallelFor(batch->tokens(), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* wr = word_rows + int64_t(packed.token_ids[t]) * hidden;
      float* o = sum + t * hidden;
      for (int64_t i = 0; i < hidden; ++i) o[i] = wr[i];
      if (position_rows != nullptr) {
        const float* pr =
            position_rows + (positions[t] + position_offset) * hidden;
        for (int64_t i = 0; i < hidden; ++i) o[i] += pr[i];
      }
      if (type_rows != nullptr) {
        const int64_t type_id =
            packed.token_type_ids.empty() ? 0 : packed.token_type_ids[t];
        const float* tr = type_rows + type_id * hidden;
        for (int64_t i = 0; i < hidden; ++i) o[i] += tr[i];
      }
    }
  });
  AddLayerNorm(sum, nullptr, norm_gamma.data<float>(),
               norm_beta.empty() ? nullptr : norm_beta.data<float>(), norm_eps,
               batch->tokens(), hidden, batch->states(), batch->states_bf16());
}

}  // namespace attnserve::core
