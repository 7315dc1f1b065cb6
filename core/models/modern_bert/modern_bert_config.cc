#include "core/models/modern_bert/modern_bert_config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/models/config_fields.h"

namespace attnserve::core {
namespace {

// The rope_theta of rope_parameters[layer_type] (transformers 5), when given.
absl::Status ReadRopeParameters(const nlohmann::json& rope,
                                const char* layer_type, double* theta) {
  auto it = rope.find(layer_type);
  if (it == rope.end() || it->is_null()) return absl::OkStatus();
  const std::string field = absl::StrCat("rope_parameters.", layer_type);
  if (!it->is_object()) return ConfigFieldError(field + " is not an object");
  auto type = it->find("rope_type");
  if (type != it->end() && *type != "default") {
    return ConfigFieldError(
        absl::StrCat(field, ".rope_type is ", type->dump(),
                     ", expected \"default\" (rope scaling is "
                     "not supported)"));
  }
  auto value = it->find("rope_theta");
  if (value != it->end() && !value->is_null()) {
    if (!value->is_number() || !(value->get<double>() > 1) ||
        value->get<double>() > 1e12) {
      return ConfigFieldError(absl::StrCat(field, ".rope_theta is ",
                                           value->dump(),
                                           ", expected a number in (1, 1e12]"));
    }
    *theta = value->get<double>();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModernBertConfig> ParseModernBertConfig(
    absl::string_view json_text) {
  ASSIGN_OR_RETURN(const ConfigFields fields, ConfigFields::Parse(json_text));
  ModernBertConfig c;
  c.architecture = fields.Architecture("ModernBertModel");
  if (fields.model_type() != "modernbert" &&
      !absl::StartsWith(c.architecture, "ModernBert")) {
    return ConfigFieldError(absl::StrCat("model_type is \"",
                                         fields.model_type(),
                                         "\", expected \"modernbert\""));
  }
  RETURN_IF_ERROR(fields.Int("vocab_size", 50368, 1, 4194304, &c.vocab_size));
  RETURN_IF_ERROR(fields.Int("hidden_size", 768, 1, 16384, &c.hidden_size));
  RETURN_IF_ERROR(
      fields.Int("intermediate_size", 1152, 1, 65536, &c.intermediate_size));
  RETURN_IF_ERROR(fields.Int("num_hidden_layers", 22, 1, 256, &c.num_layers));
  RETURN_IF_ERROR(fields.Int("num_attention_heads", 12, 1, 1024, &c.num_heads));
  if (c.hidden_size % c.num_heads != 0) {
    return ConfigFieldError(absl::StrCat(
        "hidden_size ", c.hidden_size,
        " is not a multiple of num_attention_heads ", c.num_heads));
  }
  if (c.head_dim() % 2 != 0) {
    return ConfigFieldError(
        absl::StrCat("hidden_size / num_attention_heads is ", c.head_dim(),
                     ", expected an even head size (rotary)"));
  }
  RETURN_IF_ERROR(fields.Int("max_position_embeddings", 8192, 1, 1 << 20,
                             &c.max_position_embeddings));
  RETURN_IF_ERROR(
      fields.Int("pad_token_id", 50283, 0, c.vocab_size - 1, &c.pad_token_id));
  double eps = 1e-5;
  RETURN_IF_ERROR(fields.Number("norm_eps", 1e-5, 1e-30, 1, &eps));
  c.norm_eps = float(eps);
  RETURN_IF_ERROR(fields.Bool("norm_bias", false, &c.norm_bias));
  RETURN_IF_ERROR(fields.Bool("attention_bias", false, &c.attention_bias));
  RETURN_IF_ERROR(fields.Bool("mlp_bias", false, &c.mlp_bias));

  std::string act;
  RETURN_IF_ERROR(fields.String("hidden_activation", "gelu", &act));
  if (act == "gelu") {
    c.activation = GluActivation::kGeluErf;
  } else if (act == "gelu_new" || act == "gelu_pytorch_tanh" ||
             act == "gelu_fast") {
    c.activation = GluActivation::kGeluTanh;
  } else if (act == "silu" || act == "swish") {
    c.activation = GluActivation::kSilu;
  } else {
    return ConfigFieldError(absl::StrCat("hidden_activation is \"", act,
                                         "\", expected one of gelu, gelu_new, "
                                         "gelu_pytorch_tanh, gelu_fast, silu"));
  }

  RETURN_IF_ERROR(
      fields.Int("local_attention", 128, 2, 65536, &c.local_attention));
  if (c.local_attention % 2 != 0) {
    return ConfigFieldError(absl::StrCat(
        "local_attention is ", c.local_attention,
        ", expected an even integer in [2, 65536] (the window spans "
        "local_attention / 2 tokens on each side)"));
  }
  // layer_types (transformers 5) or global_attn_every_n_layers (the Hub's).
  const nlohmann::json& json = fields.json();
  if (!fields.IsNull("layer_types")) {
    const nlohmann::json& types = json["layer_types"];
    if (!types.is_array() || int64_t(types.size()) != c.num_layers) {
      return ConfigFieldError(absl::StrCat("layer_types is not a list of ",
                                           c.num_layers,
                                           " entries (num_hidden_layers)"));
    }
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] != "full_attention" && types[i] != "sliding_attention") {
        return ConfigFieldError(absl::StrCat(
            "layer_types[", i, "] is ", types[i].dump(),
            ", expected \"full_attention\" or \"sliding_attention\""));
      }
      c.global_layer.push_back(types[i] == "full_attention");
    }
  } else {
    int64_t every = 3;
    RETURN_IF_ERROR(
        fields.Int("global_attn_every_n_layers", 3, 1, 1024, &every));
    for (int64_t i = 0; i < c.num_layers; ++i) {
      c.global_layer.push_back(i % every == 0);
    }
  }
  RETURN_IF_ERROR(fields.Number("global_rope_theta", 160000.0, 1.000001, 1e12,
                                &c.global_rope_theta));
  RETURN_IF_ERROR(fields.Number("local_rope_theta", 10000.0, 1.000001, 1e12,
                                &c.local_rope_theta));
  if (!fields.IsNull("rope_parameters")) {
    const nlohmann::json& rope = json["rope_parameters"];
    if (!rope.is_object())
      return ConfigFieldError("rope_parameters is not an object");
    RETURN_IF_ERROR(
        ReadRopeParameters(rope, "full_attention", &c.global_rope_theta));
    RETURN_IF_ERROR(
        ReadRopeParameters(rope, "sliding_attention", &c.local_rope_theta));
  }
  if (!fields.IsNull("rope_scaling")) {
    return ConfigFieldError(absl::StrCat("rope_scaling is ",
                                         json["rope_scaling"].dump(),
                                         ", expected null (rope scaling is not "
                                         "supported)"));
  }
  const double params =
      double(c.vocab_size) * c.hidden_size +
      double(c.num_layers) * (4.0 * c.hidden_size * c.hidden_size +
                              3.0 * c.hidden_size * c.intermediate_size);
  if (params > 4e9) {
    return ConfigFieldError(absl::StrCat("sizes give ", params,
                                         " parameters, expected at most 4e9"));
  }
  return c;
}

}  // namespace attnserve::core
