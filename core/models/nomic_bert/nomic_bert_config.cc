#include "core/models/nomic_bert/nomic_bert_config.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/models/config_fields.h"

namespace attnserve::core {

absl::StatusOr<NomicBertConfig> ParseNomicBertConfig(
    absl::string_view json_text) {
  ASSIGN_OR_RETURN(const ConfigFields fields, ConfigFields::Parse(json_text));
  NomicBertConfig c;
  c.architecture = fields.Architecture("NomicBertModel");
  if (fields.model_type() != "nomic_bert" &&
      !absl::StartsWith(c.architecture, "NomicBert")) {
    return ConfigFieldError(absl::StrCat("model_type is \"",
                                         fields.model_type(),
                                         "\", expected \"nomic_bert\""));
  }
  // What NomicBertBlock / NomicBertAttention would do differently.
  RETURN_IF_ERROR(
      fields.Require("prenorm", false, "pre-norm is not supported"));
  RETURN_IF_ERROR(fields.Require("parallel_block", false,
                                 "parallel blocks are not supported"));
  RETURN_IF_ERROR(
      fields.Require("use_rms_norm", false, "RMSNorm is not supported"));
  RETURN_IF_ERROR(
      fields.Require("causal", false, "an encoder is bidirectional"));
  RETURN_IF_ERROR(fields.Require("rotary_emb_interleaved", false,
                                 "only the rotate_half layout is supported"));
  RETURN_IF_ERROR(fields.Require("rotary_emb_scale_base", nullptr,
                                 "xPos scaling is not supported"));
  RETURN_IF_ERROR(fields.Require("rotary_scaling_factor", nullptr,
                                 "dynamic NTK scaling is not supported"));
  RETURN_IF_ERROR(fields.Require("rotary_head_dim", false,
                                 "only rotation along the sequence"));
  RETURN_IF_ERROR(fields.Require(
      "norm_mlp", false, "a LayerNorm inside the MLP is not supported"));

  RETURN_IF_ERROR(fields.Int("n_embd", 768, 1, 16384, &c.hidden_size));
  RETURN_IF_ERROR(fields.Int("n_layer", 12, 1, 256, &c.num_layers));
  RETURN_IF_ERROR(fields.Int("n_head", 12, 1, 1024, &c.num_heads));
  if (c.hidden_size % c.num_heads != 0) {
    return ConfigFieldError(absl::StrCat("n_embd ", c.hidden_size,
                                         " is not a multiple of n_head ",
                                         c.num_heads));
  }
  if (!fields.IsNull("num_heads_kv") &&
      fields.json()["num_heads_kv"] != c.num_heads) {
    return ConfigFieldError(absl::StrCat("num_heads_kv is ",
                                         fields.json()["num_heads_kv"].dump(),
                                         ", expected n_head ", c.num_heads,
                                         " (grouped-query attention is not "
                                         "supported)"));
  }
  int64_t vocab = 0, multiple = 1;
  RETURN_IF_ERROR(fields.Int("vocab_size", 30528, 1, 4194304, &vocab));
  RETURN_IF_ERROR(
      fields.Int("pad_vocab_size_multiple", 1, 1, 65536, &multiple));
  c.vocab_size = (vocab + multiple - 1) / multiple * multiple;
  RETURN_IF_ERROR(
      fields.Int("type_vocab_size", 2, 0, 1024, &c.type_vocab_size));
  RETURN_IF_ERROR(
      fields.Int("n_positions", 2048, 1, 1 << 20, &c.max_position_embeddings));

  std::string act;
  RETURN_IF_ERROR(fields.String("activation_function", "gelu", &act));
  // NomicBertBlock passes F.silu for swiglu and F.gelu for everything else,
  // so the tanh-named GELUs are the exact one too.
  if (act == "swiglu") {
    c.activation = GluActivation::kSilu;
  } else if (act == "geglu" || act == "gelu" || act == "gelu_new" ||
             act == "gelu_fast" || act == "gelu_pytorch_tanh") {
    c.activation = GluActivation::kGeluErf;
  } else {
    return ConfigFieldError(absl::StrCat(
        "activation_function is \"", act,
        "\", expected one of swiglu, geglu, gelu, gelu_new, gelu_fast, "
        "gelu_pytorch_tanh"));
  }
  c.gated = act == "swiglu" || act == "geglu";
  if (fields.IsNull("n_inner")) {
    c.intermediate_size =
        c.gated ? int64_t(8 * c.hidden_size / 3) : 4 * c.hidden_size;
  } else {
    RETURN_IF_ERROR(fields.Int("n_inner", 0, 1, 65536, &c.intermediate_size));
  }
  if (c.gated) c.intermediate_size = (c.intermediate_size + 255) / 256 * 256;

  double eps = 1e-5;
  RETURN_IF_ERROR(fields.Number("layer_norm_epsilon", 1e-5, 1e-30, 1, &eps));
  c.layer_norm_eps = float(eps);
  RETURN_IF_ERROR(fields.Bool("qkv_proj_bias", true, &c.qkv_proj_bias));
  RETURN_IF_ERROR(fields.Bool("mlp_fc1_bias", true, &c.mlp_fc1_bias));
  RETURN_IF_ERROR(fields.Bool("mlp_fc2_bias", true, &c.mlp_fc2_bias));

  double fraction = 0;
  RETURN_IF_ERROR(fields.Number("rotary_emb_fraction", 0, 0, 1, &fraction));
  const double rotary_dim = double(c.head_dim()) * fraction;
  if (rotary_dim < 2 || rotary_dim != std::floor(rotary_dim) ||
      int64_t(rotary_dim) % 2 != 0) {
    return ConfigFieldError(absl::StrCat(
        "rotary_emb_fraction is ", fraction, ", expected a fraction of the ",
        c.head_dim(),
        "-dim heads that is an even number >= 2 (learned position embeddings "
        "are not supported)"));
  }
  c.rotary_dim = int64_t(rotary_dim);
  RETURN_IF_ERROR(fields.Number("rotary_emb_base", 10000.0, 1.000001, 1e12,
                                &c.rotary_base));
  const double params =
      double(c.vocab_size + c.type_vocab_size) * c.hidden_size +
      double(c.num_layers) * (4.0 * c.hidden_size * c.hidden_size +
                              3.0 * c.hidden_size * c.intermediate_size);
  if (params > 4e9) {
    return ConfigFieldError(absl::StrCat("sizes give ", params,
                                         " parameters, expected at most 4e9"));
  }
  return c;
}

}  // namespace attnserve::core
