#ifndef ATTNSERVE_CORE_MODEL_LOAD_MODEL_H_
#define ATTNSERVE_CORE_MODEL_LOAD_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/model/encoder_model.h"

namespace attnserve::core {

// How one architecture is loaded from a Hugging Face model directory.
struct ModelLoader {
  // config.json "model_type" this loader serves, e.g. "bert".
  const char* model_type;
  // Without a matching model_type: an "architectures" entry starting with
  // this selects the loader, e.g. "Bert" for BertForMaskedLM.
  const char* architecture_prefix;
  // dir: the checked model directory, ending in '/'; config_json: the text
  // of its config.json. Errors name the file.
  absl::StatusOr<std::shared_ptr<const EncoderModel>> (*load)(
      const std::string& dir, absl::string_view config_json);
};

// Every architecture attnserve loads, one entry each (models/<arch>/).
absl::Span<const ModelLoader> ModelLoaders();

// The loader for a config.json text: by model_type, else by architectures.
// Errors start with "config.json: " and name the field. Pure function.
absl::StatusOr<const ModelLoader*> SelectModelLoader(
    absl::string_view config_json);

// Loads the model directory `directory` with the loader its config.json
// selects. Errors name the file.
absl::StatusOr<std::shared_ptr<const EncoderModel>> LoadEncoderModel(
    const std::string& directory);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_LOAD_MODEL_H_
