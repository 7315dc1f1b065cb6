#include "core/tokenizer/tokenizer_files.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "utf8proc.h"

namespace attnserve::core {
namespace {

using nlohmann::json;

constexpr char kVocabTxt[] = "vocab.txt";
constexpr char kTokenizerConfigJson[] = "tokenizer_config.json";
constexpr char kSpecialTokensMapJson[] = "special_tokens_map.json";

absl::Status Error(absl::string_view file, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", message));
}

// Byte offset of the first invalid UTF-8 sequence, or -1.
int64_t FirstInvalidUtf8(absl::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(
        reinterpret_cast<const utf8proc_uint8_t*>(bytes.data() + pos),
        static_cast<utf8proc_ssize_t>(bytes.size() - pos), &cp);
    if (n <= 0) return static_cast<int64_t>(pos);
    pos += static_cast<size_t>(n);
  }
  return -1;
}

absl::StatusOr<json> ParseJsonObject(absl::string_view file,
                                     absl::string_view bytes) {
  json root = json::parse(bytes.begin(), bytes.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded()) return Error(file, "not valid JSON");
  if (!root.is_object()) return Error(file, "top level is not a JSON object");
  return root;
}

std::string TypeName(const json& value) { return value.type_name(); }

// Reads an optional boolean key; null counts as absent.
absl::Status ReadBool(absl::string_view file, const json& object,
                      absl::string_view path, const char* key,
                      std::optional<bool>* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) {
    return Error(file, absl::StrCat(path, key, " is ", TypeName(*it),
                                    ", expected a boolean"));
  }
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status ReadBool(absl::string_view file, const json& object,
                      absl::string_view path, const char* key, bool* out) {
  std::optional<bool> value;
  if (absl::Status s = ReadBool(file, object, path, key, &value); !s.ok())
    return s;
  if (value.has_value()) *out = *value;
  return absl::OkStatus();
}

// A token name: a string, or an AddedToken object {"content": "..."}.
absl::Status ReadTokenName(absl::string_view file, const json& object,
                           const char* key, std::optional<std::string>* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (it->is_string()) {
    *out = it->get<std::string>();
    return absl::OkStatus();
  }
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string()) {
      *out = content->get<std::string>();
      return absl::OkStatus();
    }
  }
  return Error(file, absl::StrCat(key, " is ", TypeName(*it),
                                  ", expected a string or an object with "
                                  "a string \"content\""));
}

absl::Status ReadTokenNames(absl::string_view file, const json& root,
                            TokenizerConfigJson* config) {
  const std::pair<const char*, std::optional<std::string>*> names[] = {
      {"unk_token", &config->unk_token},   {"cls_token", &config->cls_token},
      {"sep_token", &config->sep_token},   {"pad_token", &config->pad_token},
      {"mask_token", &config->mask_token},
  };
  for (const auto& [key, out] : names) {
    if (absl::Status s = ReadTokenName(file, root, key, out); !s.ok()) return s;
  }
  auto extra = root.find("additional_special_tokens");
  if (extra == root.end() || extra->is_null()) return absl::OkStatus();
  if (!extra->is_array()) {
    return Error(file, absl::StrCat("additional_special_tokens is ",
                                    TypeName(*extra), ", expected an array"));
  }
  config->additional_special_tokens.clear();
  for (size_t i = 0; i < extra->size(); ++i) {
    const json& item = (*extra)[i];
    std::optional<std::string> name;
    const std::string key = absl::StrCat("additional_special_tokens[", i, "]");
    const json wrapper = {{key, item}};
    if (absl::Status s = ReadTokenName(file, wrapper, key.c_str(), &name);
        !s.ok()) {
      return s;
    }
    if (name.has_value())
      config->additional_special_tokens.push_back(std::move(*name));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseVocabTxt(
    absl::string_view bytes) {
  if (bytes.empty()) return Error(kVocabTxt, "file is empty, expected tokens");
  if (int64_t bad = FirstInvalidUtf8(bytes); bad >= 0) {
    return Error(kVocabTxt, absl::StrCat("invalid UTF-8 at byte offset ", bad));
  }
  std::vector<std::string> vocab;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t newline = bytes.find('\n', pos);
    if (newline == absl::string_view::npos) newline = bytes.size();
    absl::string_view line = bytes.substr(pos, newline - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    vocab.emplace_back(line);
    pos = newline + 1;
  }
  return vocab;
}

absl::StatusOr<TokenizerConfigJson> ParseTokenizerConfigJson(
    absl::string_view bytes) {
  absl::StatusOr<json> parsed = ParseJsonObject(kTokenizerConfigJson, bytes);
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  TokenizerConfigJson config;
  if (absl::Status s = ReadBool(kTokenizerConfigJson, root, "", "do_lower_case",
                                &config.do_lower_case);
      !s.ok())
    return s;
  if (absl::Status s = ReadBool(kTokenizerConfigJson, root, "", "strip_accents",
                                &config.strip_accents);
      !s.ok())
    return s;
  if (absl::Status s =
          ReadBool(kTokenizerConfigJson, root, "", "tokenize_chinese_chars",
                   &config.tokenize_chinese_chars);
      !s.ok())
    return s;
  if (absl::Status s = ReadBool(kTokenizerConfigJson, root, "",
                                "clean_up_tokenization_spaces",
                                &config.clean_up_tokenization_spaces);
      !s.ok())
    return s;
  auto max_length = root.find("model_max_length");
  if (max_length != root.end() && !max_length->is_null()) {
    if (!max_length->is_number() || max_length->get<double>() < 1 ||
        std::isnan(max_length->get<double>())) {
      return Error(kTokenizerConfigJson,
                   absl::StrCat("model_max_length is ", max_length->dump(),
                                ", expected a number >= 1"));
    }
    // HF writes int(1e30) when a model has no limit; treat anything beyond
    // int32 as unset.
    const double value = max_length->get<double>();
    if (value <= static_cast<double>(std::numeric_limits<int32_t>::max()))
      config.model_max_length = static_cast<int64_t>(value);
  }
  if (absl::Status s = ReadTokenNames(kTokenizerConfigJson, root, &config);
      !s.ok())
    return s;
  return config;
}

absl::Status ParseSpecialTokensMapJson(absl::string_view bytes,
                                       TokenizerConfigJson* config) {
  absl::StatusOr<json> parsed = ParseJsonObject(kSpecialTokensMapJson, bytes);
  if (!parsed.ok()) return parsed.status();
  return ReadTokenNames(kSpecialTokensMapJson, *parsed, config);
}

}  // namespace attnserve::core
