#include "core/model/load_model.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "core/models/bert/bert_model.h"
#include "core/models/modern_bert/modern_bert_model.h"
#include "core/models/mpnet/mpnet_model.h"
#include "core/models/nomic_bert/nomic_bert_model.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadBert(
    const std::string& dir, absl::string_view config_json) {
  ASSIGN_OR_RETURN(std::shared_ptr<const BertModel> model,
                   LoadBertModelFromConfig(dir, config_json));
  return std::shared_ptr<const EncoderModel>(std::move(model));
}

absl::Status Error(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("config.json: ", message));
}

}  // namespace

absl::Span<const ModelLoader> ModelLoaders() {
  static const ModelLoader kLoaders[] = {
      {"bert", "Bert", &LoadBert},
      // RoBERTa, XLM-R, CamemBERT: BERT layers with a position offset.
      {"roberta", "Roberta", &LoadBert},
      {"xlm-roberta", "XLMRoberta", &LoadBert},
      {"camembert", "Camembert", &LoadBert},
      {"mpnet", "MPNet", &LoadMpnetModel},
      {"nomic_bert", "NomicBert", &LoadNomicBertModel},
      {"modernbert", "ModernBert", &LoadModernBertModel},
  };
  return kLoaders;
}

absl::StatusOr<const ModelLoader*> SelectModelLoader(
    absl::string_view config_json) {
  const nlohmann::json config =
      nlohmann::json::parse(config_json.begin(), config_json.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (config.is_discarded()) return Error("not valid JSON");
  if (!config.is_object()) return Error("not a JSON object");
  std::vector<std::string> architectures;
  if (auto it = config.find("architectures"); it != config.end()) {
    if (!it->is_array()) return Error("architectures is not a list of strings");
    for (const nlohmann::json& a : *it) {
      if (!a.is_string()) {
        return Error("architectures is not a list of strings");
      }
      architectures.push_back(a.get<std::string>());
    }
  }
  std::string model_type;
  if (auto it = config.find("model_type"); it != config.end()) {
    if (!it->is_string()) return Error("model_type is not a string");
    model_type = it->get<std::string>();
  }
  for (const ModelLoader& loader : ModelLoaders()) {
    if (model_type == loader.model_type) return &loader;
  }
  for (const ModelLoader& loader : ModelLoaders()) {
    for (const std::string& architecture : architectures) {
      if (absl::StartsWith(architecture, loader.architecture_prefix)) {
        return &loader;
      }
    }
  }
  std::vector<std::string> types, prefixes;
  for (const ModelLoader& loader : ModelLoaders()) {
    types.push_back(absl::StrCat("\"", loader.model_type, "\""));
    prefixes.push_back(absl::StrCat(loader.architecture_prefix, "*"));
  }
  const std::string expected =
      types.size() == 1 ? types[0]
                        : absl::StrCat("one of ", absl::StrJoin(types, ", "));
  if (!model_type.empty()) {
    return Error(absl::StrCat("model_type is \"", model_type, "\", expected ",
                              expected));
  }
  return Error(absl::StrCat("expected a model_type (", expected,
                            ") or an architectures entry ",
                            absl::StrJoin(prefixes, ", ")));
}

absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadEncoderModel(
    const std::string& directory) {
  ASSIGN_OR_RETURN(const std::string dir, ModelDirectory(directory));
  ASSIGN_OR_RETURN(const std::string config_json, ReadModelConfig(dir));
  absl::StatusOr<const ModelLoader*> loader = SelectModelLoader(config_json);
  if (!loader.ok()) return ConfigError(dir, loader.status());
  return (*loader)->load(dir, config_json);
}

}  // namespace attnserve::core
