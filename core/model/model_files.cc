#include "core/model/model_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"

namespace attnserve::core {

absl::StatusOr<std::string> ModelDirectory(const std::string& directory) {
  struct stat st;
  if (::stat(directory.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(
        directory, ": model directory not found: ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(directory, ": not a directory"));
  }
  return directory.back() == '/' ? directory : directory + "/";
}

absl::StatusOr<std::string> ReadModelConfig(const std::string& dir) {
  return ReadFile(dir + "config.json", kMaxModelJsonBytes);
}

absl::Status ConfigError(const std::string& dir, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(dir, status.message()));
}

absl::StatusOr<std::unique_ptr<SafetensorsWeightSource>> OpenModelWeights(
    const std::string& dir, absl::string_view probe,
    const std::vector<std::string>& prefixes) {
  const std::string weights_path = dir + "model.safetensors";
  if (!PathExists(weights_path)) {
    if (PathExists(dir + "pytorch_model.bin")) {
      return absl::InvalidArgumentError(
          absl::StrCat(weights_path,
                       ": not found; the directory has only pytorch_model.bin, "
                       "which attnserve does not "
                       "read: convert it to model.safetensors (e.g. with "
                       "safetensors.torch.save_file)"));
    }
    return absl::NotFoundError(absl::StrCat(weights_path, ": file not found"));
  }
  return SafetensorsWeightSource::Open(weights_path, probe, prefixes);
}

}  // namespace attnserve::core
