#ifndef ATTNSERVE_CORE_LAYERS_EMBEDDINGS_H_
#define ATTNSERVE_CORE_LAYERS_EMBEDDINGS_H_

#include <cstdint>

#include "core/base/tensor.h"
#include "core/layers/encoder_batch.h"

namespace attnserve::core {

// The learned input embeddings of BERT-like encoders: for each token,
//   LayerNorm(word[id] + position[position + position_offset] + type[type_id])
// written to batch->states() (and its BF16 copy), batch->projected() holding
// the sum.
//   word: [vocab, hidden] FP32
//   position: [max_positions, hidden] FP32, or empty(): no position table
//     (rotary models); position_offset: RoBERTa's and XLM-R's
//     padding_idx + 1, else 0
//   token_type: [type_vocab, hidden] FP32, or empty(): no token types
//   norm_gamma: [hidden]; norm_beta: [hidden] or empty() (no bias)
// Ids, types and positions were checked by EncoderBatch::Create.
void EmbedTokens(const Tensor& word, const Tensor& position,
                 int64_t position_offset, const Tensor& token_type,
                 const Tensor& norm_gamma, const Tensor& norm_beta,
                 float norm_eps, EncoderBatch* batch);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_EMBEDDINGS_H_
