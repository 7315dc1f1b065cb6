#ifndef ATTNSERVE_CORE_BERT_ENCODER_H_
#define ATTNSERVE_CORE_BERT_ENCODER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/attention/attention.h"
#include "core/base/tensor.h"
#include "core/bert/model.h"

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

struct EncodeOptions {
  DType compute_dtype = DType::kFP32;  // BF16: matmuls and attention in BF16
  // Unset: the model's own attention (global soft). Set: every layer uses it;
  // LOCAL global_positions at or past a sequence's length do not apply to it.
  std::optional<AttentionSpec> attention;
  // Layers whose attention weights to return; -1 = the last layer.
  std::vector<int32_t> attention_layers;
};

struct EncoderOutput {
  // [total_tokens, hidden] FP32: the last layer, packed like the input
  Tensor hidden;
  // attention[i][s]: layer attention_layers[i] of sequence s,
  // [heads, len_s, len_s] FP32
  std::vector<std::vector<Tensor>> attention;
};

// Runs the encoder over a packed batch. Validates ids (< vocab_size), token
// types (< type_vocab_size), offsets (non-decreasing, non-empty sequences of at
// most max_position_embeddings tokens) and layers; errors name the field,
// e.g. "token_ids[2].ids[5] is 40000, expected an id in [0, 30522)".
// Projections and FFN run over the real tokens only; attention runs per
// sequence (sequences of equal length share one call).
absl::StatusOr<EncoderOutput> Encode(const BertModel& model,
                                     const PackedBatch& batch,
                                     const EncodeOptions& options);

// hidden: [total_tokens, hidden] FP32   offsets: [n_seq + 1]
// Returns [n_seq, hidden] FP32: the first token (CLS), the mean or the
// element-wise max of each sequence's tokens.
Tensor Pool(const Tensor& hidden, absl::Span<const int64_t> offsets,
            Pooling pooling);

// rows: [n, d] FP32; each row is scaled to unit L2 norm in place (a zero row
// stays zero).
void L2NormalizeRows(Tensor* rows);

// One layer's learned attention block over caller hidden states, like torch's
// nn.MultiheadAttention: output projection of the attention (bias included),
// no residual, no LayerNorm.
struct MultiHeadAttendInputs {
  int64_t layer = 0;
  // [batch, seq, hidden_size] FP32
  Tensor hidden;
  // [batch, ctx_len, hidden_size] FP32; empty() -> hidden (self-attention)
  Tensor context;
  AttentionSpec spec;
  // Empty, or per batch item the valid context length (keys past it are
  // padding).
  std::vector<uint32_t> lengths;
  bool return_weights = false;
};
//   output: [batch, seq, hidden_size] FP32
//   weights (when requested): [batch, heads, seq, ctx_len] FP32
absl::StatusOr<AttentionOutputs> MultiHeadAttend(
    const BertModel& model, const MultiHeadAttendInputs& inputs);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BERT_ENCODER_H_
