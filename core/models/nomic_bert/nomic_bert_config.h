#ifndef ATTNSERVE_CORE_MODELS_NOMIC_BERT_NOMIC_BERT_CONFIG_H_
#define ATTNSERVE_CORE_MODELS_NOMIC_BERT_NOMIC_BERT_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/kernels/glu.h"

namespace attnserve::core {

// The fields of a NomicBERT config.json (model_type "nomic_bert", nomic's
// NomicBertConfig over GPT-2's keys) that the encoder uses.
struct NomicBertConfig {
  std::string architecture;  // architectures[0], or "NomicBertModel"
  // vocab_size rounded up to pad_vocab_size_multiple, as NomicBertModel does:
  // the word embedding's row count.
  int64_t vocab_size = 0;
  int64_t hidden_size = 768;  // n_embd
  int64_t num_layers = 12;    // n_layer
  int64_t num_heads = 12;     // n_head
  // The MLP's inner width: n_inner (or 4 * n_embd); for the gated MLPs
  // (swiglu, geglu) n_inner (or 8 * n_embd / 3) rounded up to a multiple of
  // 256, as NomciBertGatedMLP does.
  int64_t intermediate_size = 3072;
  bool gated = true;  // activation_function swiglu / geglu
  // The MLP activation (of the gate for the gated MLPs).
  GluActivation activation = GluActivation::kSilu;
  float layer_norm_eps = 1e-5f;  // layer_norm_epsilon
  int64_t type_vocab_size = 2;
  bool qkv_proj_bias = true;  // Wqkv and out_proj
  bool mlp_fc1_bias = true;   // fc11, fc12 (or fc1)
  bool mlp_fc2_bias = true;
  // head_dim * rotary_emb_fraction: the leading dims of each head rotated
  // (even, >= 2; rotary_emb_fraction 0, i.e. learned positions, is not
  // supported).
  int64_t rotary_dim = 64;
  double rotary_base = 10000.0;  // rotary_emb_base
  // Longest sequence: n_positions (rotary embeddings have no table to
  // outgrow; nomic-embed serves 8192 with n_positions 8192).
  int64_t max_position_embeddings = 2048;

  int64_t head_dim() const { return hidden_size / num_heads; }
};

// Parses and validates config.json text. Settings the HF implementation has
// but attnserve does not (prenorm, parallel_block, use_rms_norm, causal,
// rotary_emb_interleaved, rotary_emb_scale_base, rotary_scaling_factor,
// learned positions) fail naming the field. Errors start with
// "config.json: ". Pure, no I/O.
absl::StatusOr<NomicBertConfig> ParseNomicBertConfig(
    absl::string_view json_text);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_NOMIC_BERT_NOMIC_BERT_CONFIG_H_
