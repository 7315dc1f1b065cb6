#ifndef ATTNSERVE_CORE_MODEL_SENTENCE_TRANSFORMERS_H_
#define ATTNSERVE_CORE_MODEL_SENTENCE_TRANSFORMERS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/model/encoder_model.h"
#include "core/model/pooling_type.h"

namespace attnserve::core {

// The sentence-transformers defaults of a model directory.
struct SentenceTransformersModules {
  // The Pooling module's folder, e.g. "1_Pooling"; empty when there is none.
  std::string pooling_path;
  // A sentence_transformers.models.Normalize module is present.
  bool normalize = false;
};
// Parses the text of modules.json. Pure function.
absl::StatusOr<SentenceTransformersModules> ParseModulesJson(
    absl::string_view json_text);
// Parses the text of a Pooling module's config.json; `file_name` prefixes
// errors. Pure function.
absl::StatusOr<Pooling> ParsePoolingConfig(absl::string_view json_text,
                                           absl::string_view file_name);

// Sets info->default_pooling and default_normalize from the modules.json and
// Pooling config of model directory `dir` (ending in '/') when it has them;
// leaves them as they are otherwise. Errors name the file.
absl::Status ReadSentenceTransformersDefaults(const std::string& dir,
                                              ModelInfo* info);

// The prompts of config_sentence_transformers.json: {"prompts": {"query":
// "query: ", ...}, "default_prompt_name": "query" or null}.
struct SentenceTransformersPrompts {
  // (name, prompt) in the file's order.
  std::vector<std::pair<std::string, std::string>> prompts;
  // sentence-transformers applies this prompt when a call names none; empty
  // when unset.
  std::string default_prompt_name;
};
// Parses the text of config_sentence_transformers.json; `file_name` prefixes
// errors. Pure function.
absl::StatusOr<SentenceTransformersPrompts> ParsePromptsConfig(
    absl::string_view json_text, absl::string_view file_name);
// The prompts of model directory `dir` (ending in '/'); none when it has no
// config_sentence_transformers.json. Errors name the file.
absl::StatusOr<SentenceTransformersPrompts> ReadSentenceTransformersPrompts(
    const std::string& dir);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_SENTENCE_TRANSFORMERS_H_
