#include "core/tokenizer/models/model_json.h"

#include <limits>
#include <string>

namespace attnserve::core::tokenizers {
namespace {

constexpr size_t kMaxQuoted = 80;

const nlohmann::json* FindNonNull(const nlohmann::json& object,
                                  absl::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::string JsonPath(absl::string_view parent, absl::string_view key) {
  return absl::StrCat(parent, ".", key);
}

std::string Quoted(absl::string_view text) {
  std::string quoted =
      nlohmann::json(std::string(text.substr(0, kMaxQuoted)))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxQuoted) quoted += "...";
  return quoted;
}

std::string JsonKind(const nlohmann::json& value) {
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  if (value.is_string()) return Quoted(value.get_ref<const std::string&>());
  return value.dump();
}

absl::Status OptionalString(const nlohmann::json& object,
                            absl::string_view path, absl::string_view key,
                            std::optional<std::string>* out) {
  const nlohmann::json* value = FindNonNull(object, key);
  if (value == nullptr) return absl::OkStatus();
  if (!value->is_string()) {
    return JsonError(JsonPath(path, key), "must be a string or null, got ",
                     JsonKind(*value));
  }
  *out = value->get<std::string>();
  return absl::OkStatus();
}

absl::Status OptionalBool(const nlohmann::json& object, absl::string_view path,
                          absl::string_view key, bool* out) {
  const nlohmann::json* value = FindNonNull(object, key);
  if (value == nullptr) return absl::OkStatus();
  if (!value->is_boolean()) {
    return JsonError(JsonPath(path, key), "must be true, false or null, got ",
                     JsonKind(*value));
  }
  *out = value->get<bool>();
  return absl::OkStatus();
}

absl::Status OptionalNumber(const nlohmann::json& object,
                            absl::string_view path, absl::string_view key,
                            std::optional<double>* out) {
  const nlohmann::json* value = FindNonNull(object, key);
  if (value == nullptr) return absl::OkStatus();
  if (!value->is_number()) {
    return JsonError(JsonPath(path, key), "must be a number or null, got ",
                     JsonKind(*value));
  }
  *out = value->get<double>();
  return absl::OkStatus();
}

absl::StatusOr<int32_t> JsonId(const nlohmann::json& value,
                               absl::string_view path) {
  if (!value.is_number_integer() ||
      (value.is_number_unsigned()
           ? value.get<uint64_t>() >
                 static_cast<uint64_t>(std::numeric_limits<int32_t>::max())
           : (value.get<int64_t>() < 0 ||
              value.get<int64_t>() > std::numeric_limits<int32_t>::max()))) {
    return JsonError(path,
                     "must be an id (an integer from 0 to 2^31 - 1), got ",
                     JsonKind(value));
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

}  // namespace attnserve::core::tokenizers
