#ifndef ATTNSERVE_CORE_MODEL_ENCODER_MODEL_H_
#define ATTNSERVE_CORE_MODEL_ENCODER_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/attention/attention.h"
#include "core/base/tensor.h"
#include "core/model/packed_batch.h"
#include "core/model/pooling_type.h"

namespace attnserve::core {

struct EncodeOptions {
  DType compute_dtype = DType::kFP32;  // BF16: matmuls and attention in BF16
  // Unset: the model's own attention (global soft, or its per-layer
  // attention). Set: every layer uses it; LOCAL global_positions at or past a
  // sequence's length do not apply to it.
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

// What a server or a tool needs to know about a loaded encoder.
struct ModelInfo {
  std::string architecture;  // config.json architectures[0]
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t vocab_size = 0;
  // Longest accepted sequence, special tokens included (a tokenizer's
  // model_max_length may lower it further).
  int64_t max_length = 0;
  // From sentence-transformers files (modules.json, 1_Pooling/config.json)
  // when present; else CLS and no normalisation.
  Pooling default_pooling = Pooling::kCls;
  bool default_normalize = false;
};

// A loaded transformer encoder of any architecture (models/<arch>/), as the
// server and tools use it. Implementations are immutable after loading and
// safe to call from several threads.
class EncoderModel {
 public:
  virtual ~EncoderModel() = default;

  virtual ModelInfo info() const = 0;

  // Runs the encoder over a packed batch. Validates ids (< vocab_size), token
  // types, offsets (non-decreasing, non-empty sequences of at most
  // max_length tokens) and layers; errors name the field, e.g.
  // "token_ids[2].ids[5] is 40000, expected an id in [0, 30522)".
  // Projections and FFN run over the real tokens only; attention runs per
  // sequence (sequences of equal length share one call).
  virtual absl::StatusOr<EncoderOutput> Encode(
      const PackedBatch& batch, const EncodeOptions& options) const = 0;

  //   output: [batch, seq, hidden_size] FP32
  //   weights (when requested): [batch, heads, seq, ctx_len] FP32
  virtual absl::StatusOr<AttentionOutputs> MultiHeadAttend(
      const MultiHeadAttendInputs& inputs) const = 0;
};

// model.Encode(batch, options).
inline absl::StatusOr<EncoderOutput> Encode(const EncoderModel& model,
                                            const PackedBatch& batch,
                                            const EncodeOptions& options) {
  return model.Encode(batch, options);
}
// model.MultiHeadAttend(inputs).
inline absl::StatusOr<AttentionOutputs> MultiHeadAttend(
    const EncoderModel& model, const MultiHeadAttendInputs& inputs) {
  return model.MultiHeadAttend(inputs);
}

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_ENCODER_MODEL_H_
