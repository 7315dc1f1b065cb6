#include "core/tokenizer/json_fields.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace attnserve::core::tokenizers::json_fields {

using nlohmann::json;

std::string Child(absl::string_view path, absl::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(path, ".", key);
}

std::string Element(absl::string_view path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

absl::Status Error(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, " ", message));
}

std::string Describe(const json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

namespace {

absl::Status TypeError(absl::string_view path, const char* key,
                       const json& value, const char* expected) {
  return Error(Child(path, key),
               absl::StrCat("is ", Describe(value), ", expected ", expected));
}

}  // namespace

absl::Status Bool(const json& object, absl::string_view path, const char* key,
                  bool* out) {
  std::optional<bool> value;
  if (absl::Status s = OptionalBool(object, path, key, &value); !s.ok()) {
    return s;
  }
  if (value) *out = *value;
  return absl::OkStatus();
}

absl::Status OptionalBool(const json& object, absl::string_view path,
                          const char* key, std::optional<bool>* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return TypeError(path, key, *it, "a boolean");
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status String(const json& object, absl::string_view path, const char* key,
                    std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return TypeError(path, key, *it, "a string");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status Int(const json& object, absl::string_view path, const char* key,
                 int64_t* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (it->is_number_integer()) {
    *out = it->get<int64_t>();
    return absl::OkStatus();
  }
  if (it->is_number_float()) {
    const double v = it->get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e18) {
      *out = static_cast<int64_t>(v);
      return absl::OkStatus();
    }
  }
  return TypeError(path, key, *it, "an integer");
}

absl::StatusOr<const json*> Required(const json& object, absl::string_view path,
                                     const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return Error(Child(path, key), "is missing");
  return &*it;
}

absl::StatusOr<std::string> RequiredString(const json& object,
                                           absl::string_view path,
                                           const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return Error(Child(path, key), "is missing");
  if (!it->is_string()) return TypeError(path, key, *it, "a string");
  return it->get<std::string>();
}

}  // namespace attnserve::core::tokenizers::json_fields
