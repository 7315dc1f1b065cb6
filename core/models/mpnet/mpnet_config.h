#ifndef ATTNSERVE_CORE_MODELS_MPNET_MPNET_CONFIG_H_
#define ATTNSERVE_CORE_MODELS_MPNET_MPNET_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/kernels/glu.h"

namespace attnserve::core {

// The fields of an MPNet config.json (model_type "mpnet") that the encoder
// uses, as transformers' MPNetConfig reads them.
struct MpnetConfig {
  std::string architecture;  // architectures[0], or "MPNetModel"
  int64_t vocab_size = 30527;
  int64_t hidden_size = 768;
  int64_t num_layers = 12;
  int64_t num_heads = 12;
  int64_t intermediate_size = 3072;
  // hidden_act: the GELUs only (kSilu unused).
  GluActivation activation = GluActivation::kGeluErf;
  float layer_norm_eps = 1e-12f;
  int64_t max_position_embeddings = 514;
  // Rows of relative_attention_bias; compute_position_bias uses the first 32
  // whatever this says, so at least 32.
  int64_t relative_attention_num_buckets = 32;

  // MPNetEmbeddings hard-codes padding_idx 1: token i of a sequence has
  // position id i + 2, so the longest sequence is max_position_embeddings - 2.
  static constexpr int64_t kPositionOffset = 2;
  int64_t max_length() const {
    return max_position_embeddings - kPositionOffset;
  }
  int64_t head_dim() const { return hidden_size / num_heads; }
};

// Parses and validates config.json text (model_type "mpnet" or an
// architectures entry MPNet*). Errors start with "config.json: " and name
// the field. Pure, no I/O.
absl::StatusOr<MpnetConfig> ParseMpnetConfig(absl::string_view json_text);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_MPNET_MPNET_CONFIG_H_
