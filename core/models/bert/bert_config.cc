#include "core/models/bert/bert_config.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

absl::Status Error(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("config.json: ", message));
}

// Reads integer field `name` (default `fallback` when absent) and checks it is
// in [min, max].
absl::Status ReadInt(const nlohmann::json& config, const char* name,
                     int64_t fallback, int64_t min, int64_t max, int64_t* out) {
  auto it = config.find(name);
  if (it == config.end()) {
    *out = fallback;
    return absl::OkStatus();
  }
  bool ok = false;
  if (it->is_number_unsigned()) {
    ok = it->get<uint64_t>() <= uint64_t(max) &&
         int64_t(it->get<uint64_t>()) >= min;
  } else if (it->is_number_integer()) {
    ok = it->get<int64_t>() >= min && it->get<int64_t>() <= max;
  }
  if (!ok) {
    return Error(absl::StrCat(name, " is ", it->dump(),
                              ", expected an integer in [", min, ", ", max,
                              "]"));
  }
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BertConfig> ParseBertConfig(absl::string_view json_text) {
  const nlohmann::json config =
      nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (config.is_discarded()) return Error("not valid JSON");
  if (!config.is_object()) return Error("not a JSON object");

  BertConfig out;
  bool is_bert = false;
  // The RoBERTa family: BERT with positions from pad_token_id + 1.
  bool is_roberta = false;
  auto arch_it = config.find("architectures");
  if (arch_it != config.end()) {
    if (!arch_it->is_array())
      return Error("architectures is not a list of strings");
    for (const nlohmann::json& a : *arch_it) {
      if (!a.is_string())
        return Error("architectures is not a list of strings");
      if (out.architecture.empty()) out.architecture = a.get<std::string>();
      const std::string name = a.get<std::string>();
      if (absl::StartsWith(name, "Bert")) is_bert = true;
      if (absl::StartsWith(name, "Roberta") ||
          absl::StartsWith(name, "XLMRoberta") ||
          absl::StartsWith(name, "Camembert")) {
        is_roberta = true;
      }
    }
  }
  auto type_it = config.find("model_type");
  if (type_it != config.end()) {
    if (!type_it->is_string()) return Error("model_type is not a string");
    const std::string type = type_it->get<std::string>();
    if (type == "bert") {
      is_bert = true;
      is_roberta = false;
    } else if (type == "roberta" || type == "xlm-roberta" ||
               type == "camembert") {
      is_roberta = true;
    } else if (!is_bert && !is_roberta) {
      return Error(absl::StrCat("model_type is ", type_it->dump(),
                                ", expected \"bert\", \"roberta\", "
                                "\"xlm-roberta\" or \"camembert\""));
    }
  }
  if (is_roberta) {
    int64_t pad = 1;
    if (absl::Status s = ReadInt(config, "pad_token_id", 1, 0, 65535, &pad);
        !s.ok()) {
      return s;
    }
    out.position_offset = pad + 1;
    is_bert = true;
  }
  if (!is_bert) {
    return Error(
        "expected a BERT-family model: model_type \"bert\" or an architectures "
        "entry Bert*");
  }
  if (out.architecture.empty()) out.architecture = "BertModel";

  absl::Status s;
  if (!(s = ReadInt(config, "hidden_size", 768, 1, 16384, &out.hidden_size))
           .ok())
    return s;
  if (!(s = ReadInt(config, "num_hidden_layers", 12, 1, 256, &out.num_layers))
           .ok())
    return s;
  if (!(s = ReadInt(config, "num_attention_heads", 12, 1, 1024, &out.num_heads))
           .ok())
    return s;
  if (!(s = ReadInt(config, "intermediate_size", 3072, 1, 65536,
                    &out.intermediate_size))
           .ok()) {
    return s;
  }
  if (!(s = ReadInt(config, "max_position_embeddings", 512, 1, 65536,
                    &out.max_position_embeddings))
           .ok()) {
    return s;
  }
  if (!(s = ReadInt(config, "type_vocab_size", 2, 1, 1024,
                    &out.type_vocab_size))
           .ok())
    return s;
  if (!(s = ReadInt(config, "vocab_size", 30522, 1, 4194304, &out.vocab_size))
           .ok())
    return s;
  if (out.hidden_size % out.num_heads != 0) {
    return Error(absl::StrCat("hidden_size ", out.hidden_size,
                              " is not a multiple of num_attention_heads ",
                              out.num_heads));
  }
  // Whole-model parameter count, so absurd combinations fail before allocation.
  const double params =
      double(out.vocab_size + out.max_position_embeddings +
             out.type_vocab_size) *
          out.hidden_size +
      double(out.num_layers) * (4.0 * out.hidden_size * out.hidden_size +
                                2.0 * out.hidden_size * out.intermediate_size);
  if (params > 4e9) {
    return Error(absl::StrCat("sizes give ", params,
                              " parameters, expected at most 4e9"));
  }

  auto act_it = config.find("hidden_act");
  if (act_it != config.end()) {
    const std::string act =
        act_it->is_string() ? act_it->get<std::string>() : "";
    if (act == "gelu") {
      out.activation = Activation::kGeluErf;
    } else if (act == "gelu_new" || act == "gelu_pytorch_tanh" ||
               act == "gelu_fast") {
      out.activation = Activation::kGeluTanh;
    } else {
      return Error(absl::StrCat(
          "hidden_act is ", act_it->dump(),
          ", expected one of gelu, gelu_new, gelu_pytorch_tanh, gelu_fast"));
    }
  }

  auto eps_it = config.find("layer_norm_eps");
  if (eps_it != config.end()) {
    if (!eps_it->is_number() || !(eps_it->get<double>() > 0) ||
        !std::isfinite(eps_it->get<double>()) || eps_it->get<double>() > 1) {
      return Error(absl::StrCat("layer_norm_eps is ", eps_it->dump(),
                                ", expected a number in (0, 1]"));
    }
    out.layer_norm_eps = static_cast<float>(eps_it->get<double>());
  }

  if (out.max_position_embeddings <= out.position_offset) {
    return Error(absl::StrCat(
        "max_position_embeddings is ", out.max_position_embeddings,
        ", expected more than pad_token_id + 1 = ", out.position_offset));
  }
  auto pos_it = config.find("position_embedding_type");
  if (pos_it != config.end() &&
      !(pos_it->is_string() && *pos_it == "absolute")) {
    return Error(absl::StrCat("position_embedding_type is ", pos_it->dump(),
                              ", expected \"absolute\""));
  }
  return out;
}

}  // namespace attnserve::core
