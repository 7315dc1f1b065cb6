#ifndef ATTNSERVE_CORE_TOKENIZER_JSON_FIELDS_H_
#define ATTNSERVE_CORE_TOKENIZER_JSON_FIELDS_H_

// Typed reads of tokenizer.json / tokenizer_config.json fields whose errors
// name the JSON path (`normalizer.normalizers[2].lowercase is "yes",
// expected a boolean`).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers::json_fields {

// "normalizer" + "lowercase" -> "normalizer.lowercase"; index -> "x[2]".
std::string Child(absl::string_view path, absl::string_view key);
std::string Element(absl::string_view path, size_t index);

// INVALID_ARGUMENT "<path> <message>".
absl::Status Error(absl::string_view path, absl::string_view message);
// A short rendering of a value for messages (long strings cut).
std::string Describe(const nlohmann::json& value);

// object[key]; absent or null leaves *out unchanged. Wrong type ->
// INVALID_ARGUMENT naming "<path>.<key>".
absl::Status Bool(const nlohmann::json& object, absl::string_view path,
                  const char* key, bool* out);
absl::Status OptionalBool(const nlohmann::json& object, absl::string_view path,
                          const char* key, std::optional<bool>* out);
absl::Status String(const nlohmann::json& object, absl::string_view path,
                    const char* key, std::string* out);
absl::Status Int(const nlohmann::json& object, absl::string_view path,
                 const char* key, int64_t* out);
// A required field of any type: NOT present -> INVALID_ARGUMENT.
absl::StatusOr<const nlohmann::json*> Required(const nlohmann::json& object,
                                               absl::string_view path,
                                               const char* key);
// A required string field.
absl::StatusOr<std::string> RequiredString(const nlohmann::json& object,
                                           absl::string_view path,
                                           const char* key);

}  // namespace attnserve::core::tokenizers::json_fields

#endif  // ATTNSERVE_CORE_TOKENIZER_JSON_FIELDS_H_
