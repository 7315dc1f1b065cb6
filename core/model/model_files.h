#ifndef ATTNSERVE_CORE_MODEL_MODEL_FILES_H_
#define ATTNSERVE_CORE_MODEL_MODEL_FILES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/io/weight_source.h"

namespace attnserve::core {

// The JSON files of a model directory (config.json, modules.json, pooling
// config) are small; a larger one is refused before reading.
constexpr int64_t kMaxModelJsonBytes = 16 << 20;

// `directory` with a trailing '/', after checking it is a directory
// (NOT_FOUND when it does not exist).
absl::StatusOr<std::string> ModelDirectory(const std::string& directory);

// The text of `dir`config.json (dir ends in '/').
absl::StatusOr<std::string> ReadModelConfig(const std::string& dir);

// Prefixes a config parser's error ("config.json: ...") with `dir`.
absl::Status ConfigError(const std::string& dir, const absl::Status& status);

// The weights in `dir`model.safetensors (SafetensorsWeightSource::Open with
// `probe` and `prefixes`); a directory with only pytorch_model.bin gets an
// error saying how to convert it.
absl::StatusOr<std::unique_ptr<SafetensorsWeightSource>> OpenModelWeights(
    const std::string& dir, absl::string_view probe,
    const std::vector<std::string>& prefixes);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_MODEL_FILES_H_
