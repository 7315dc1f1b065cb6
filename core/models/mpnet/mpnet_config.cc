#include "core/models/mpnet/mpnet_config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/models/config_fields.h"

namespace attnserve::core {

absl::StatusOr<MpnetConfig> ParseMpnetConfig(absl::string_view json_text) {
  ASSIGN_OR_RETURN(const ConfigFields fields, ConfigFields::Parse(json_text));
  MpnetConfig c;
  c.architecture = fields.Architecture("MPNetModel");
  if (fields.model_type() != "mpnet" &&
      !absl::StartsWith(c.architecture, "MPNet")) {
    return ConfigFieldError(absl::StrCat(
        "model_type is \"", fields.model_type(), "\", expected \"mpnet\""));
  }
  RETURN_IF_ERROR(fields.Int("vocab_size", 30527, 1, 4194304, &c.vocab_size));
  RETURN_IF_ERROR(fields.Int("hidden_size", 768, 1, 16384, &c.hidden_size));
  RETURN_IF_ERROR(fields.Int("num_hidden_layers", 12, 1, 256, &c.num_layers));
  RETURN_IF_ERROR(fields.Int("num_attention_heads", 12, 1, 1024, &c.num_heads));
  if (c.hidden_size % c.num_heads != 0) {
    return ConfigFieldError(absl::StrCat(
        "hidden_size ", c.hidden_size,
        " is not a multiple of num_attention_heads ", c.num_heads));
  }
  RETURN_IF_ERROR(
      fields.Int("intermediate_size", 3072, 1, 65536, &c.intermediate_size));
  RETURN_IF_ERROR(fields.Int("max_position_embeddings", 514,
                             MpnetConfig::kPositionOffset + 1, 1 << 20,
                             &c.max_position_embeddings));
  RETURN_IF_ERROR(fields.Int("relative_attention_num_buckets", 32, 32, 4096,
                             &c.relative_attention_num_buckets));
  double eps = 1e-12;
  RETURN_IF_ERROR(fields.Number("layer_norm_eps", 1e-12, 1e-30, 1, &eps));
  c.layer_norm_eps = float(eps);
  std::string act;
  RETURN_IF_ERROR(fields.String("hidden_act", "gelu", &act));
  if (act == "gelu") {
    c.activation = GluActivation::kGeluErf;
  } else if (act == "gelu_new" || act == "gelu_pytorch_tanh" ||
             act == "gelu_fast") {
    c.activation = GluActivation::kGeluTanh;
  } else {
    return ConfigFieldError(absl::StrCat(
        "hidden_act is \"", act,
        "\", expected one of gelu, gelu_new, gelu_pytorch_tanh, gelu_fast"));
  }
  const double params =
      double(c.vocab_size + c.max_position_embeddings) * c.hidden_size +
      double(c.num_layers) * (4.0 * c.hidden_size * c.hidden_size +
                              2.0 * c.hidden_size * c.intermediate_size);
  if (params > 4e9) {
    return ConfigFieldError(absl::StrCat("sizes give ", params,
                                         " parameters, expected at most 4e9"));
  }
  return c;
}

}  // namespace attnserve::core
