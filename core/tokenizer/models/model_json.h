#ifndef ATTNSERVE_CORE_TOKENIZER_MODELS_MODEL_JSON_H_
#define ATTNSERVE_CORE_TOKENIZER_MODELS_MODEL_JSON_H_

// Reading tokenizer.json's "model" section: typed field access whose errors
// name the JSON path (`model.merges[12]: ...`), shared by the models.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {

// "model" + "vocab" -> "model.vocab".
std::string JsonPath(absl::string_view parent, absl::string_view key);

// INVALID_ARGUMENT "<path> <message...>".
template <typename... Args>
absl::Status JsonError(absl::string_view path, const Args&... message) {
  return absl::InvalidArgumentError(absl::StrCat(path, " ", message...));
}

// A short description of a value for error messages: `"abc"`, `12`, `true`,
// `null`, `an array`, `an object`; long strings are cut.
std::string JsonKind(const nlohmann::json& value);
// `text` as a JSON string literal (invalid UTF-8 replaced), cut when long.
std::string Quoted(absl::string_view text);

// object[key] when present and not null; INVALID_ARGUMENT naming
// "<path>.<key>" when it has another type. Absent or null leaves *out as is.
absl::Status OptionalString(const nlohmann::json& object,
                            absl::string_view path, absl::string_view key,
                            std::optional<std::string>* out);
absl::Status OptionalBool(const nlohmann::json& object, absl::string_view path,
                          absl::string_view key, bool* out);
absl::Status OptionalNumber(const nlohmann::json& object,
                            absl::string_view path, absl::string_view key,
                            std::optional<double>* out);

// A vocabulary id: an integer in [0, 2^31).
absl::StatusOr<int32_t> JsonId(const nlohmann::json& value,
                               absl::string_view path);

// Bytes of the UTF-8 sequence that `lead` starts (1 for a stray byte).
inline size_t Utf8CharLength(char lead) {
  const auto b = static_cast<unsigned char>(lead);
  if (b < 0xC0) return 1;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  return 4;
}

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_MODELS_MODEL_JSON_H_
