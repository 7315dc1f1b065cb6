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

// The masked-LM head of BertForMaskedLM (cls.predictions: transform dense,
// hidden_act, LayerNorm, decoder tied to the word embeddings plus a bias) and
// RobertaForMaskedLM (lm_head: dense, gelu, layer_norm, decoder, bias), used
// for SPLADE. Immutable after loading; safe to share between threads.
class MaskedLmHead {
 public:
  // Reads the head and the word embeddings (the decoder's weight unless the
  // checkpoint stores its own) from `dir`model.safetensors. NOT_FOUND when
  // a head tensor is absent (a checkpoint without the head); other errors
  // name the tensor, or `dir`config.json and the key.
  static absl::StatusOr<std::unique_ptr<const MaskedLmHead>> Load(
      const std::string& dir, absl::string_view config_json);

  // SPLADE of one sequence: for each vocabulary id the max over its tokens
  // of log(1 + relu(logit)), zeros omitted. The [tokens, vocab] logits are
  // computed kSpladeRows tokens at a time and reduced as they come.
  //   hidden: [len, hidden] FP32, the encoder's last hidden states
  absl::StatusOr<SparseVector> Splade(const Tensor& hidden) const;

  int64_t vocab_size() const { return decoder_.out_features(); }

  // Tokens per block of logits (a [kSpladeRows, vocab] FP32 buffer).
  static constexpr int64_t kSpladeRows = 32;

 private:
  MaskedLmHead() = default;

  PackedLinear transform_;  // [hidden] -> [hidden], activation fused
  LinearActivation activation_ = LinearActivation::kGeluErf;
  Tensor norm_weight_;  // [hidden]
  Tensor norm_bias_;    // [hidden]
  float norm_eps_ = 1e-12f;
  PackedLinear decoder_;  // [hidden] -> [vocab], with the output bias
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_HEADS_MASKED_LM_HEAD_H_
