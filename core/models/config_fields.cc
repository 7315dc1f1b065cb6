#include "core/models/config_fields.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace attnserve::core {

absl::Status ConfigFieldError(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("config.json: ", message));
}

absl::StatusOr<ConfigFields> ConfigFields::Parse(absl::string_view json_text) {
  ConfigFields fields;
  fields.json_ = nlohmann::json::parse(json_text.begin(), json_text.end(),
                                       nullptr, /*allow_exceptions=*/false);
  if (fields.json_.is_discarded()) return ConfigFieldError("not valid JSON");
  if (!fields.json_.is_object()) return ConfigFieldError("not a JSON object");
  auto arch = fields.json_.find("architectures");
  if (arch != fields.json_.end() && !arch->is_null()) {
    bool strings = arch->is_array();
    for (const nlohmann::json& a : *arch) strings = strings && a.is_string();
    if (!strings) return ConfigFieldError("architectures is not a list of strings");
  }
  auto type = fields.json_.find("model_type");
  if (type != fields.json_.end()) {
    if (!type->is_string()) return ConfigFieldError("model_type is not a string");
    fields.model_type_ = type->get<std::string>();
  }
  return fields;
}

std::string ConfigFields::Architecture(absl::string_view fallback) const {
  auto arch = json_.find("architectures");
  if (arch == json_.end() || !arch->is_array() || arch->empty()) {
    return std::string(fallback);
  }
  return (*arch)[0].get<std::string>();
}

bool ConfigFields::IsNull(const char* name) const {
  auto it = json_.find(name);
  return it == json_.end() || it->is_null();
}

absl::Status ConfigFields::Int(const char* name, int64_t fallback, int64_t min,
                               int64_t max, int64_t* out) const {
  if (IsNull(name)) {
    *out = fallback;
    return absl::OkStatus();
  }
  const nlohmann::json& v = json_[name];
  bool ok = false;
  if (v.is_number_unsigned()) {
    ok =
        v.get<uint64_t>() <= uint64_t(max) && int64_t(v.get<uint64_t>()) >= min;
  } else if (v.is_number_integer()) {
    ok = v.get<int64_t>() >= min && v.get<int64_t>() <= max;
  }
  if (!ok) {
    return ConfigFieldError(absl::StrCat(name, " is ", v.dump(),
                                    ", expected an integer in [", min, ", ",
                                    max, "]"));
  }
  *out = v.get<int64_t>();
  return absl::OkStatus();
}

absl::Status ConfigFields::Number(const char* name, double fallback, double min,
                                  double max, double* out) const {
  if (IsNull(name)) {
    *out = fallback;
    return absl::OkStatus();
  }
  const nlohmann::json& v = json_[name];
  if (!v.is_number() || !std::isfinite(v.get<double>()) ||
      v.get<double>() < min || v.get<double>() > max) {
    return ConfigFieldError(absl::StrCat(name, " is ", v.dump(),
                                    ", expected a number in [", min, ", ", max,
                                    "]"));
  }
  *out = v.get<double>();
  return absl::OkStatus();
}

absl::Status ConfigFields::Bool(const char* name, bool fallback,
                                bool* out) const {
  if (IsNull(name)) {
    *out = fallback;
    return absl::OkStatus();
  }
  const nlohmann::json& v = json_[name];
  if (!v.is_boolean()) {
    return ConfigFieldError(
        absl::StrCat(name, " is ", v.dump(), ", expected true or false"));
  }
  *out = v.get<bool>();
  return absl::OkStatus();
}

absl::Status ConfigFields::String(const char* name, absl::string_view fallback,
                                  std::string* out) const {
  if (IsNull(name)) {
    *out = std::string(fallback);
    return absl::OkStatus();
  }
  const nlohmann::json& v = json_[name];
  if (!v.is_string()) {
    return ConfigFieldError(
        absl::StrCat(name, " is ", v.dump(), ", expected a string"));
  }
  *out = v.get<std::string>();
  return absl::OkStatus();
}

absl::Status ConfigFields::Require(const char* name,
                                   const nlohmann::json& supported,
                                   absl::string_view why) const {
  if (IsNull(name) || json_[name] == supported) return absl::OkStatus();
  return ConfigFieldError(absl::StrCat(name, " is ", json_[name].dump(),
                                  ", expected ", supported.dump(), " (", why,
                                  ")"));
}

}  // namespace attnserve::core
