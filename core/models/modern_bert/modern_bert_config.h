#ifndef ATTNSERVE_CORE_MODELS_MODERN_BERT_MODERN_BERT_CONFIG_H_
#define ATTNSERVE_CORE_MODELS_MODERN_BERT_MODERN_BERT_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/kernels/glu.h"

namespace attnserve::core {

// The fields of a ModernBERT config.json (model_type "modernbert") that the
// encoder uses, as transformers' ModernBertConfig reads them.
struct ModernBertConfig {
  std::string architecture;  // architectures[0], or "ModernBertModel"
  int64_t vocab_size = 50368;
  int64_t hidden_size = 768;
  int64_t intermediate_size = 1152;  // Wi is [2 * intermediate, hidden]
  int64_t num_layers = 22;
  int64_t num_heads = 12;
  GluActivation activation = GluActivation::kGeluErf;  // hidden_activation
  int64_t max_position_embeddings = 8192;
  float norm_eps = 1e-5f;
  bool norm_bias = false;       // the LayerNorms have a bias
  bool attention_bias = false;  // Wqkv and attn.Wo have biases
  bool mlp_bias = false;        // mlp.Wi and mlp.Wo have biases
  // Per layer: true for full (global) attention, false for the sliding
  // window. From layer_types when present, else layer i is global when
  // i % global_attn_every_n_layers == 0.
  std::vector<bool> global_layer;
  // The sliding window: a token sees keys within local_attention / 2
  // positions on either side.
  int64_t local_attention = 128;
  double global_rope_theta = 160000.0;  // rotary base of the global layers
  double local_rope_theta = 10000.0;    // rotary base of the local layers
  int64_t pad_token_id = 50283;

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t window_half() const { return local_attention / 2; }
};

// Parses and validates config.json text: model_type "modernbert" (or an
// architectures entry ModernBert*), sizes in range, hidden_activation one of
// gelu / gelu_new / gelu_pytorch_tanh / silu, rope settings in range
// (rope_parameters with rope_type "default" only: no rope scaling). Accepts
// both the Hub's keys (global_attn_every_n_layers, global_rope_theta,
// local_rope_theta) and transformers 5's (layer_types, rope_parameters).
// Errors start with "config.json: " and name the field. Pure, no I/O.
absl::StatusOr<ModernBertConfig> ParseModernBertConfig(
    absl::string_view json_text);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_MODERN_BERT_MODERN_BERT_CONFIG_H_
