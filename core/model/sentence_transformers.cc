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

}  // namespace attnserve::core
