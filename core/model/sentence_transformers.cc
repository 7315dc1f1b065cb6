#include "core/model/sentence_transformers.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {

absl::StatusOr<SentenceTransformersModules> ParseModulesJson(
    absl::string_view json_text) {
  const nlohmann::json modules =
      nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (modules.is_discarded() || !modules.is_array()) {
    return absl::InvalidArgumentError(
        "modules.json: expected a JSON list of modules");
  }
  SentenceTransformersModules out;
  for (size_t i = 0; i < modules.size(); ++i) {
    const nlohmann::json& m = modules[i];
    auto type_it = m.is_object() ? m.find("type") : m.end();
    if (!m.is_object() || type_it == m.end() || !type_it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "modules.json: module ", i, " has no string field \"type\""));
    }
    const std::string type = type_it->get<std::string>();
    if (type == "sentence_transformers.models.Transformer") continue;
    if (type == "sentence_transformers.models.Normalize") {
      out.normalize = true;
    } else if (type == "sentence_transformers.models.Pooling") {
      auto path_it = m.find("path");
      if (path_it == m.end() || !path_it->is_string() ||
          path_it->get<std::string>().empty() ||
          path_it->get<std::string>().find("..") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "modules.json: module ", i,
            " (Pooling) has no relative \"path\" inside the model"));
      }
      out.pooling_path = path_it->get<std::string>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "modules.json: module ", i, " has type \"", type,
          "\", expected one of sentence_transformers.models.Transformer, "
          "sentence_transformers.models.Pooling, "
          "sentence_transformers.models.Normalize"));
    }
  }
  return out;
}

absl::StatusOr<Pooling> ParsePoolingConfig(absl::string_view json_text,
                                           absl::string_view file_name) {
  const nlohmann::json config =
      nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": expected a JSON object"));
  }
  auto flag = [&](const char* name) {
    auto it = config.find(name);
    return it != config.end() && it->is_boolean() && it->get<bool>();
  };
  for (const char* unsupported :
       {"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken"}) {
    if (flag(unsupported)) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name, ": ", unsupported,
          " is not supported, expected one of pooling_mode_cls_token, "
          "pooling_mode_mean_tokens, pooling_mode_max_tokens"));
    }
  }
  const bool cls = flag("pooling_mode_cls_token");
  const bool mean = flag("pooling_mode_mean_tokens");
  const bool max = flag("pooling_mode_max_tokens");
  if (int(cls) + int(mean) + int(max) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name,
                     ": expected exactly one of pooling_mode_cls_token, "
                     "pooling_mode_mean_tokens, "
                     "pooling_mode_max_tokens to be true"));
  }
  return cls ? Pooling::kCls : mean ? Pooling::kMean : Pooling::kMax;
}

absl::Status ReadSentenceTransformersDefaults(const std::string& dir,
                                              ModelInfo* info) {
  const std::string modules_path = dir + "modules.json";
  if (!PathExists(modules_path)) return absl::OkStatus();
  ASSIGN_OR_RETURN(const std::string modules_text,
                   ReadFile(modules_path, kMaxModelJsonBytes));
  auto modules = ParseModulesJson(modules_text);
  if (!modules.ok()) {
    return absl::Status(modules.status().code(),
                        absl::StrCat(dir, modules.status().message()));
  }
  info->default_normalize = modules->normalize;
  if (!modules->pooling_path.empty()) {
    const std::string pooling_path =
        dir + modules->pooling_path + "/config.json";
    ASSIGN_OR_RETURN(const std::string pooling_text,
                     ReadFile(pooling_path, kMaxModelJsonBytes));
    ASSIGN_OR_RETURN(info->default_pooling,
                     ParsePoolingConfig(pooling_text, pooling_path));
  }
  return absl::OkStatus();
}

absl::StatusOr<SentenceTransformersPrompts> ParsePromptsConfig(
    absl::string_view json_text, absl::string_view file_name) {
  // ordered_json keeps the prompts in the file's order.
  const nlohmann::ordered_json config = nlohmann::ordered_json::parse(
      json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": expected a JSON object"));
  }
  SentenceTransformersPrompts out;
  auto prompts = config.find("prompts");
  if (prompts != config.end() && !prompts->is_null()) {
    if (!prompts->is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name, ": \"prompts\" is not an object of name -> prompt"));
    }
    for (auto it = prompts->begin(); it != prompts->end(); ++it) {
      if (!it.value().is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file_name, ": prompts[\"", it.key(), "\"] is ",
                         it.value().dump(), ", expected a string"));
      }
      out.prompts.emplace_back(it.key(), it.value().get<std::string>());
    }
  }
  auto default_name = config.find("default_prompt_name");
  if (default_name != config.end() && !default_name->is_null()) {
    if (!default_name->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ": default_prompt_name is ",
                       default_name->dump(), ", expected a string or null"));
    }
    out.default_prompt_name = default_name->get<std::string>();
    bool known = false;
    for (const auto& [name, prompt] : out.prompts) {
      known |= name == out.default_prompt_name;
    }
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ": default_prompt_name \"",
                       out.default_prompt_name, "\" is not a key of prompts"));
    }
  }
  return out;
}

absl::StatusOr<SentenceTransformersPrompts> ReadSentenceTransformersPrompts(
    const std::string& dir) {
  const std::string path = dir + "config_sentence_transformers.json";
  if (!PathExists(path)) return SentenceTransformersPrompts();
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path, kMaxModelJsonBytes));
  return ParsePromptsConfig(text, path);
}

}  // namespace attnserve::core
