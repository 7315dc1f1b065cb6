#ifndef ATTNSERVE_CORE_LAYERS_ENCODER_BATCH_H_
#define ATTNSERVE_CORE_LAYERS_ENCODER_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/attention/attention.h"
#include "core/base/dtype.h"
#include "core/layers/head_slots.h"
#include "core/layers/workspace.h"
#include "core/model/encoder_model.h"
#include "core/model/packed_batch.h"

namespace attnserve::core {

// The sizes of an encoder that the shared layers work with.
struct EncoderDims {
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  // Width of the feed-forward's intermediate buffer (a gated MLP's fused up
  // projection needs twice its inner size).
  int64_t intermediate_size = 0;
  int64_t vocab_size = 0;
  // 0: the model has no token types (token_type_ids must then be 0).
  int64_t type_vocab_size = 0;
  // Longest accepted sequence, special tokens included.
  int64_t max_length = 0;

  int64_t head_dim() const { return hidden_size / num_heads; }
};

// Sequences of one length: one attention call per layer, no padding.
struct LengthGroup {
  int64_t length = 0;
  std::vector<int64_t> sequences;
  std::vector<int64_t> first_rows;  // of the sequences, in the packed rows
  size_t qkv_offset[3] = {};        // query, key, value in the workspace
  // query, key, value: [sequences, heads, length, head_dim] views of the
  // workspace in the compute dtype; output FP32.
  AttentionInputs inputs;
  AttentionOutputs out;
};

// One Encode call's packed batch made ready for the layers, whatever the
// architecture: validated (ids, token types, offsets, attention_layers,
// compute dtype), grouped by sequence length for attention, with the
// activation buffers carved from one workspace and the output allocated.
// A model's Encode creates one, runs its embeddings and layers over these
// buffers and returns TakeOutput(). Activation buffers are [tokens, width]
// row-major, padded to PaddedRows(tokens) rows (the padding rows zeroed).
class EncoderBatch {
 public:
  // layer_attention: the model's own attention of each layer (num_layers
  // entries); options.attention, when set, replaces every one.
  static absl::StatusOr<std::unique_ptr<EncoderBatch>> Create(
      const EncoderDims& dims, const PackedBatch& batch,
      const EncodeOptions& options,
      const std::vector<AttentionSpec>& layer_attention);

  const EncoderDims& dims() const { return dims_; }
  const PackedBatch& batch() const { return batch_; }
  DType compute_dtype() const { return compute_; }
  bool bf16() const { return compute_ == DType::kBF16; }
  int64_t tokens() const { return tokens_; }
  // [tokens]: each token's position in its sequence (PositionIds).
  absl::Span<const int32_t> positions() const { return positions_; }

  // The residual stream [tokens, hidden] FP32, and its BF16 copy (nullptr
  // when computing in FP32).
  float* states() const { return workspace_.At<float>(states_.offset); }
  BF16* states_bf16() const {
    return bf16() ? workspace_.At<BF16>(states_bf16_.offset) : nullptr;
  }
  // A second [tokens, hidden] FP32 stream (BERT: the attention block's
  // normalised output) and its BF16 copy (nullptr in FP32).
  float* attended() const { return workspace_.At<float>(attended_.offset); }
  BF16* attended_bf16() const {
    return bf16() ? workspace_.At<BF16>(attended_bf16_.offset) : nullptr;
  }
  // [tokens, hidden] FP32: projections before their residual add.
  float* projected() const { return workspace_.At<float>(projected_.offset); }
  // [tokens, 3 * hidden] compute dtype: fused query, key, value.
  void* qkv() const { return workspace_.At<void>(qkv_.offset); }
  // [tokens, hidden] compute dtype: the attention heads, merged.
  void* context() const { return workspace_.At<void>(context_.offset); }
  // [tokens, intermediate_size] compute dtype.
  void* intermediate() const {
    return workspace_.At<void>(intermediate_.offset);
  }
  // The matmul input of an FP32 stream: its BF16 copy when computing in
  // BF16, else the stream itself.
  const void* AsInput(const float* fp32, const BF16* bf16_copy) const {
    return bf16() ? static_cast<const void*>(bf16_copy)
                  : static_cast<const void*>(fp32);
  }

  // [tokens, hidden] FP32: where the last layer writes its result.
  float* output() { return output_.hidden.data<float>(); }

  std::vector<LengthGroup>& groups() { return groups_; }
  absl::Span<const HeadSlot> slots() const { return slots_; }
  // SplitHeads' destinations: [query, key, value][group].
  const std::vector<std::vector<void*>>& qkv_heads() const {
    return qkv_heads_;
  }
  // Layer `layer`'s attention for group `group`: LOCAL global positions past
  // the end of the group's sequences are dropped (those tokens do not exist
  // in them). Checked against the group's shapes (ValidateAttentionShapes)
  // by Create.
  const AttentionSpec& GroupAttention(int64_t layer, size_t group) const {
    return group_attention_[layer_attention_index_[layer]][group];
  }
  // Whether the caller asked for layer `layer`'s attention weights.
  bool WantsWeights(int64_t layer) const {
    return !weight_slots_[layer].empty();
  }
  // Hands group `group`'s weights of layer `layer` ([sequences, heads, length,
  // length] FP32) to the output, split per sequence.
  void KeepWeights(int64_t layer, size_t group, const Tensor& weights);

  EncoderOutput TakeOutput() { return std::move(output_); }

 private:
  EncoderBatch(const EncoderDims& dims, const PackedBatch& batch)
      : dims_(dims), batch_(batch) {}

  EncoderDims dims_;
  const PackedBatch& batch_;
  DType compute_ = DType::kFP32;
  int64_t tokens_ = 0;
  std::vector<int32_t> positions_;
  std::vector<LengthGroup> groups_;
  std::vector<HeadSlot> slots_;
  std::vector<std::vector<void*>> qkv_heads_;
  // Per distinct layer attention, per group; and each layer's index into it.
  std::vector<std::vector<AttentionSpec>> group_attention_;
  std::vector<size_t> layer_attention_index_;
  // For each layer, the indices into options.attention_layers that ask for
  // its attention weights.
  std::vector<std::vector<size_t>> weight_slots_;
  Workspace workspace_;
  ActivationRows states_, attended_, states_bf16_, attended_bf16_, qkv_,
      context_, projected_, intermediate_;
  EncoderOutput output_;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_ENCODER_BATCH_H_
