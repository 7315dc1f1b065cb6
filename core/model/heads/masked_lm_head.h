#ifndef ATTNSERVE_CORE_MODEL_HEADS_MASKED_LM_HEAD_H_
#define ATTNSERVE_CORE_MODEL_HEADS_MASKED_LM_HEAD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/tensor.h"
#include "core/dnnl/packed_linear.h"

namespace attnserve::core {

// A sparse vector over the vocabulary: ids ascending, values > 0.
struct SparseVector {
  std::vector<uint32_t> indices;
  std::vector<float> values;
};

// The masked-LM heads of Hugging Face's *ForMaskedLM models, used for SPLADE:
//   BertForMaskedLM     cls.predictions: transform dense, hidden_act,
//                       LayerNorm; decoder tied to the word embeddings + bias
//   RobertaForMaskedLM  lm_head: dense, gelu, layer_norm, decoder + bias
//   (XLM-R, CamemBERT), MPNetForMaskedLM (the same names)
//   ModernBertForMaskedLM  head: dense (classifier_bias),
//                       classifier_activation, norm (norm_bias); decoder tied
//                       to the token embeddings (+ bias if decoder_bias)
// Immutable after loading; safe to share between threads.
class MaskedLmHead {
 public:
  // Reads the head and the word embeddings (the decoder's weight unless the
  // checkpoint stores its own) from `dir`model.safetensors, for the encoder's
  // hidden_size and vocab_size; config.json's model_type picks the layout.
  // NOT_FOUND when a head tensor is absent (a checkpoint without the head)
  // or the model_type has no head here; other errors name the tensor, or
  // `dir`config.json and the key.
  static absl::StatusOr<std::unique_ptr<const MaskedLmHead>> Load(
      const std::string& dir, absl::string_view config_json,
      int64_t hidden_size, int64_t vocab_size);

  // SPLADE of each sequence: for each vocabulary id the max over the
  // sequence's tokens of log(1 + relu(logit)), zeros omitted. The
  // [tokens, vocab] logits are never held: the tokens of all sequences go
  // through the head kSpladeRows at a time, the decoder one tile of
  // kVocabTile ids at a time, and each [rows, tile] block of logits is
  // reduced into per-sequence running maxima while it is in cache.
  //   hidden: per sequence [len, hidden] FP32, the encoder's last states
  absl::StatusOr<std::vector<SparseVector>> Splade(
      const std::vector<Tensor>& hidden) const;

  int64_t vocab_size() const { return vocab_size_; }

  // Tokens per block (the rows of each decoder matmul).
  static constexpr int64_t kSpladeRows = 256;
  // Vocabulary ids per decoder tile: a [kSpladeRows, kVocabTile] FP32 block
  // of logits is 2 MiB.
  static constexpr int64_t kVocabTile = 2048;

 private:
  MaskedLmHead() = default;

  PackedLinear transform_;  // [hidden] -> [hidden], activation fused
  LinearActivation activation_ = LinearActivation::kGeluErf;
  Tensor norm_weight_;  // [hidden]
  Tensor norm_bias_;    // [hidden], or empty (LayerNorm without bias)
  float norm_eps_ = 1e-12f;
  int64_t vocab_size_ = 0;
  // The decoder [hidden] -> [vocab] with the output bias, as tiles of
  // kVocabTile output ids (the last may be narrower).
  std::vector<PackedLinear> decoder_tiles_;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_HEADS_MASKED_LM_HEAD_H_
