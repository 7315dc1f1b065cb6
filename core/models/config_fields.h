#ifndef ATTNSERVE_CORE_MODELS_CONFIG_FIELDS_H_
#define ATTNSERVE_CORE_MODELS_CONFIG_FIELDS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {

// An error about config.json: "config.json: <message>".
absl::Status ConfigFieldError(absl::string_view message);

// The fields of a parsed config.json, read with range checks. Absent and
// null fields take the fallback (Hugging Face's default for the key). Every
// error starts with "config.json: " and names the field, e.g.
//   config.json: local_attention is 7, expected an even integer in [2, 65536]
class ConfigFields {
 public:
  // Errors: not JSON, not an object, `architectures` not a list of strings,
  // `model_type` not a string.
  static absl::StatusOr<ConfigFields> Parse(absl::string_view json_text);

  // architectures[0], or `fallback` when absent or empty.
  std::string Architecture(absl::string_view fallback) const;
  // model_type, or "" when absent.
  const std::string& model_type() const { return model_type_; }
  // True when `name` is absent or null.
  bool IsNull(const char* name) const;

  absl::Status Int(const char* name, int64_t fallback, int64_t min, int64_t max,
                   int64_t* out) const;
  // A finite number in [min, max].
  absl::Status Number(const char* name, double fallback, double min, double max,
                      double* out) const;
  absl::Status Bool(const char* name, bool fallback, bool* out) const;
  absl::Status String(const char* name, absl::string_view fallback,
                      std::string* out) const;
  // For settings attnserve does not implement: OK when `name` is absent, null
  // or equal to `supported`, else "<name> is <value>, expected <supported>
  // (<why>)".
  absl::Status Require(const char* name, const nlohmann::json& supported,
                       absl::string_view why) const;

  const nlohmann::json& json() const { return json_; }

 private:
  nlohmann::json json_;
  std::string model_type_;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_CONFIG_FIELDS_H_
