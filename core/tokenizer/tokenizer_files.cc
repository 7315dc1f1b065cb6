#include "core/tokenizer/tokenizer_files.h"

#include <cmath>
#include <limits>
#include <map>
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
constexpr char kTokenizerJson[] = "tokenizer.json";

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

absl::Status ReadString(absl::string_view file, const json& object,
                        absl::string_view path, const char* key,
                        std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) {
    return Error(file, absl::StrCat(path, key, " is ", TypeName(*it),
                                    ", expected a string"));
  }
  *out = it->get<std::string>();
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

// Token -> last id, as HF builds its vocabulary dict.
std::map<absl::string_view, int32_t> IndexVocab(
    const std::vector<std::string>& vocab) {
  std::map<absl::string_view, int32_t> index;
  for (size_t i = 0; i < vocab.size(); ++i)
    index[vocab[i]] = static_cast<int32_t>(i);
  return index;
}

absl::StatusOr<SpecialPiece> ParseTemplateSpecialToken(
    const json& item, const json& special_tokens, absl::string_view path) {
  auto id = item.find("id");
  if (id == item.end() || !id->is_string()) {
    return Error(kTokenizerJson,
                 absl::StrCat(path, ".id is missing, expected a string"));
  }
  const std::string name = id->get<std::string>();
  auto entry = special_tokens.find(name);
  if (entry == special_tokens.end() || !entry->is_object()) {
    return Error(kTokenizerJson,
                 absl::StrCat("post_processor.special_tokens has no entry \"",
                              name, "\" used by ", path));
  }
  auto ids = entry->find("ids");
  if (ids == entry->end() || !ids->is_array() || ids->size() != 1 ||
      !(*ids)[0].is_number_integer()) {
    return Error(kTokenizerJson,
                 absl::StrCat("post_processor.special_tokens[\"", name,
                              "\"].ids is not an array of one integer"));
  }
  return SpecialPiece{name, (*ids)[0].get<int32_t>()};
}

absl::Status ParseTemplateProcessing(const json& processor,
                                     BertTokenizerSpec* spec) {
  auto single = processor.find("single");
  if (single == processor.end() || !single->is_array()) {
    return Error(kTokenizerJson,
                 "post_processor.single is missing, expected an array");
  }
  static const json kEmpty = json::object();
  auto special_it = processor.find("special_tokens");
  const json& special_tokens =
      special_it != processor.end() && special_it->is_object() ? *special_it
                                                               : kEmpty;
  spec->prefix.clear();
  spec->suffix.clear();
  bool seen_sequence = false;
  for (size_t i = 0; i < single->size(); ++i) {
    const json& item = (*single)[i];
    const std::string path = absl::StrCat("post_processor.single[", i, "]");
    if (item.is_object() && item.contains("Sequence")) {
      if (seen_sequence) {
        return Error(kTokenizerJson,
                     absl::StrCat(path, " is a second Sequence, expected one"));
      }
      seen_sequence = true;
    } else if (item.is_object() && item.contains("SpecialToken") &&
               item["SpecialToken"].is_object()) {
      absl::StatusOr<SpecialPiece> piece = ParseTemplateSpecialToken(
          item["SpecialToken"], special_tokens, path + ".SpecialToken");
      if (!piece.ok()) return piece.status();
      (seen_sequence ? spec->suffix : spec->prefix).push_back(*piece);
    } else {
      return Error(kTokenizerJson,
                   absl::StrCat(path,
                                " is not {\"Sequence\": ...} or "
                                "{\"SpecialToken\": ...}"));
    }
  }
  if (!seen_sequence) {
    return Error(kTokenizerJson,
                 "post_processor.single has no Sequence item, expected one");
  }
  return absl::OkStatus();
}

absl::StatusOr<SpecialPiece> ParseBertProcessingPair(const json& processor,
                                                     const char* key) {
  auto it = processor.find(key);
  if (it == processor.end() || !it->is_array() || it->size() != 2 ||
      !(*it)[0].is_string() || !(*it)[1].is_number_integer()) {
    return Error(kTokenizerJson, absl::StrCat("post_processor.", key,
                                              " is not [\"token\", id]"));
  }
  return SpecialPiece{(*it)[0].get<std::string>(), (*it)[1].get<int32_t>()};
}

absl::Status ParsePostProcessor(const json& processor,
                                BertTokenizerSpec* spec) {
  if (processor.is_null()) {
    spec->prefix.clear();
    spec->suffix.clear();
    return absl::OkStatus();
  }
  const std::string type = processor.is_object() &&
                                   processor.contains("type") &&
                                   processor["type"].is_string()
                               ? processor["type"].get<std::string>()
                               : "";
  if (type == "TemplateProcessing") {
    return ParseTemplateProcessing(processor, spec);
  }
  if (type == "BertProcessing") {
    absl::StatusOr<SpecialPiece> cls =
        ParseBertProcessingPair(processor, "cls");
    if (!cls.ok()) return cls.status();
    absl::StatusOr<SpecialPiece> sep =
        ParseBertProcessingPair(processor, "sep");
    if (!sep.ok()) return sep.status();
    spec->prefix = {*cls};
    spec->suffix = {*sep};
    return absl::OkStatus();
  }
  if (type == "Sequence" && processor.contains("processors") &&
      processor["processors"].is_array() &&
      processor["processors"].size() == 1) {
    return ParsePostProcessor(processor["processors"][0], spec);
  }
  return Error(kTokenizerJson,
               absl::StrCat("post_processor.type is \"", type,
                            "\", expected \"TemplateProcessing\", "
                            "\"BertProcessing\" or a Sequence of one of them"));
}

std::string NormalizerType(const json& normalizer) {
  if (!normalizer.is_object()) return "";
  auto type = normalizer.find("type");
  return type != normalizer.end() && type->is_string()
             ? type->get<std::string>()
             : "";
}

absl::Status ParseBertNormalizer(const json& normalizer, absl::string_view path,
                                 BertTokenizerSpec* spec) {
  if (absl::Status s = ReadBool(kTokenizerJson, normalizer, path, "clean_text",
                                &spec->clean_text);
      !s.ok())
    return s;
  if (absl::Status s =
          ReadBool(kTokenizerJson, normalizer, path, "handle_chinese_chars",
                   &spec->handle_chinese_chars);
      !s.ok())
    return s;
  if (absl::Status s = ReadBool(kTokenizerJson, normalizer, path, "lowercase",
                                &spec->lowercase);
      !s.ok())
    return s;
  return ReadBool(kTokenizerJson, normalizer, path, "strip_accents",
                  &spec->strip_accents);
}

// Sequence normalizers: one BertNormalizer alone, or Lowercase and NFD with a
// later StripAccents (without text cleaning / CJK spacing).
absl::Status ParseNormalizerSequence(const json& normalizers,
                                     BertTokenizerSpec* spec) {
  if (normalizers.size() == 1 &&
      NormalizerType(normalizers[0]) == "BertNormalizer") {
    return ParseBertNormalizer(normalizers[0], "normalizer.normalizers[0].",
                               spec);
  }
  spec->clean_text = false;
  spec->handle_chinese_chars = false;
  spec->lowercase = false;
  spec->strip_accents = false;
  bool seen_nfd = false;
  for (size_t i = 0; i < normalizers.size(); ++i) {
    const std::string type = NormalizerType(normalizers[i]);
    bool strip_follows = false;
    for (size_t j = i + 1; j < normalizers.size(); ++j)
      strip_follows |= NormalizerType(normalizers[j]) == "StripAccents";
    if (type == "Lowercase") {
      spec->lowercase = true;
    } else if (type == "NFD" && strip_follows) {
      seen_nfd = true;
    } else if (type == "StripAccents" && seen_nfd) {
      spec->strip_accents = true;
    } else {
      return Error(
          kTokenizerJson,
          absl::StrCat("normalizer.normalizers[", i, "].type is \"", type,
                       "\", expected \"Lowercase\", or \"NFD\" with a later "
                       "\"StripAccents\" (or one \"BertNormalizer\" alone)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseNormalizer(const json& normalizer, BertTokenizerSpec* spec) {
  if (normalizer.is_null()) {
    spec->clean_text = false;
    spec->handle_chinese_chars = false;
    spec->lowercase = false;
    spec->strip_accents = false;
    return absl::OkStatus();
  }
  const std::string type = NormalizerType(normalizer);
  if (type == "BertNormalizer") {
    return ParseBertNormalizer(normalizer, "normalizer.", spec);
  }
  if (type == "Sequence" && normalizer.contains("normalizers") &&
      normalizer["normalizers"].is_array()) {
    return ParseNormalizerSequence(normalizer["normalizers"], spec);
  }
  return Error(kTokenizerJson,
               absl::StrCat("normalizer.type is \"", type,
                            "\", expected \"BertNormalizer\" or a supported "
                            "\"Sequence\""));
}

absl::Status CheckPreTokenizer(const json& pre_tokenizer) {
  std::string type = NormalizerType(pre_tokenizer);
  if (type == "Sequence" && pre_tokenizer.contains("pretokenizers") &&
      pre_tokenizer["pretokenizers"].is_array() &&
      pre_tokenizer["pretokenizers"].size() == 1) {
    type = NormalizerType(pre_tokenizer["pretokenizers"][0]);
  }
  if (type == "BertPreTokenizer") return absl::OkStatus();
  return Error(kTokenizerJson,
               absl::StrCat("pre_tokenizer.type is \"", type,
                            "\", expected \"BertPreTokenizer\""));
}

absl::Status ParseWordPieceModel(const json& model, BertTokenizerSpec* spec) {
  if (!model.is_object())
    return Error(kTokenizerJson, "model is missing, expected an object");
  const std::string type = NormalizerType(model);
  if (type != "WordPiece") {
    return Error(kTokenizerJson, absl::StrCat("model.type is \"", type,
                                              "\", expected \"WordPiece\""));
  }
  auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object() || vocab->empty()) {
    return Error(kTokenizerJson,
                 "model.vocab is missing or empty, expected an object of "
                 "token -> id");
  }
  // ids must be in [0, size): the embedding table has one row per id.
  const int64_t size = static_cast<int64_t>(vocab->size());
  spec->vocab.assign(static_cast<size_t>(size), std::string());
  std::vector<bool> filled(static_cast<size_t>(size), false);
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
        it->get<int64_t>() >= size) {
      return Error(
          kTokenizerJson,
          absl::StrCat("model.vocab[\"", it.key(), "\"] is ", it->dump(),
                       ", expected an integer id in [0, ", size, ")"));
    }
    const size_t id = static_cast<size_t>(it->get<int64_t>());
    if (filled[id]) {
      return Error(kTokenizerJson,
                   absl::StrCat("model.vocab has id ", id, " for both \"",
                                spec->vocab[id], "\" and \"", it.key(), "\""));
    }
    filled[id] = true;
    spec->vocab[id] = it.key();
  }
  if (absl::Status s = ReadString(kTokenizerJson, model, "model.", "unk_token",
                                  &spec->unk_token);
      !s.ok())
    return s;
  if (absl::Status s = ReadString(kTokenizerJson, model, "model.",
                                  "continuing_subword_prefix",
                                  &spec->continuing_subword_prefix);
      !s.ok())
    return s;
  auto max_chars = model.find("max_input_chars_per_word");
  if (max_chars != model.end() && !max_chars->is_null()) {
    if (!max_chars->is_number_integer() || max_chars->get<int64_t>() < 1 ||
        max_chars->get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      return Error(
          kTokenizerJson,
          absl::StrCat("model.max_input_chars_per_word is ", max_chars->dump(),
                       ", expected an integer >= 1"));
    }
    spec->max_input_chars_per_word = max_chars->get<int>();
  }
  return absl::OkStatus();
}

absl::Status ParseAddedTokens(const json& root, BertTokenizerSpec* spec) {
  auto added = root.find("added_tokens");
  if (added == root.end() || added->is_null()) return absl::OkStatus();
  if (!added->is_array()) {
    return Error(kTokenizerJson,
                 absl::StrCat("added_tokens is ", TypeName(*added),
                              ", expected an array"));
  }
  for (size_t i = 0; i < added->size(); ++i) {
    const json& item = (*added)[i];
    const std::string path = absl::StrCat("added_tokens[", i, "]");
    if (!item.is_object() || !item.contains("id") ||
        !item["id"].is_number_integer() || !item.contains("content") ||
        !item["content"].is_string()) {
      return Error(kTokenizerJson,
                   absl::StrCat(path,
                                " is not an object with an integer "
                                "\"id\" and a string \"content\""));
    }
    AddedToken token;
    token.content = item["content"].get<std::string>();
    token.id = item["id"].get<int32_t>();
    if (absl::Status s = ReadBool(kTokenizerJson, item, path + ".", "special",
                                  &token.special);
        !s.ok())
      return s;
    if (token.content.empty()) {
      return Error(kTokenizerJson,
                   absl::StrCat(path, ".content is empty, expected a token"));
    }
    spec->added_tokens.push_back(std::move(token));
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

absl::StatusOr<BertTokenizerSpec> MakeSpecFromVocab(
    std::vector<std::string> vocab, const TokenizerConfigJson& config) {
  BertTokenizerSpec spec;
  spec.vocab = std::move(vocab);
  spec.lowercase = config.do_lower_case;
  spec.strip_accents = config.strip_accents;
  spec.handle_chinese_chars = config.tokenize_chinese_chars;
  spec.model_max_length = config.model_max_length;
  if (config.unk_token) spec.unk_token = *config.unk_token;
  if (config.cls_token) spec.cls_token = *config.cls_token;
  if (config.sep_token) spec.sep_token = *config.sep_token;
  if (config.pad_token) spec.pad_token = *config.pad_token;
  if (config.mask_token) spec.mask_token = *config.mask_token;

  const std::map<absl::string_view, int32_t> index = IndexVocab(spec.vocab);
  auto id_of = [&](const std::string& token) -> std::optional<int32_t> {
    auto it = index.find(token);
    if (it == index.end()) return std::nullopt;
    return it->second;
  };
  const std::optional<int32_t> cls = id_of(spec.cls_token);
  const std::optional<int32_t> sep = id_of(spec.sep_token);
  if (!cls || !sep) {
    return Error(kVocabTxt, absl::StrCat("has no entry for the ",
                                         !cls ? "cls_token \"" + spec.cls_token
                                              : "sep_token \"" + spec.sep_token,
                                         "\""));
  }
  spec.prefix = {{spec.cls_token, *cls}};
  spec.suffix = {{spec.sep_token, *sep}};
  std::vector<std::string> specials = {spec.pad_token, spec.unk_token,
                                       spec.cls_token, spec.sep_token,
                                       spec.mask_token};
  specials.insert(specials.end(), config.additional_special_tokens.begin(),
                  config.additional_special_tokens.end());
  for (const std::string& token : specials) {
    const std::optional<int32_t> id = id_of(token);
    if (!id || token.empty()) continue;
    bool duplicate = false;
    for (const AddedToken& added : spec.added_tokens)
      duplicate |= added.content == token;
    if (!duplicate) spec.added_tokens.push_back({token, *id, true});
  }
  return spec;
}

absl::StatusOr<BertTokenizerSpec> ParseTokenizerJson(absl::string_view bytes) {
  absl::StatusOr<json> parsed = ParseJsonObject(kTokenizerJson, bytes);
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  BertTokenizerSpec spec;
  auto member = [&](const char* key) -> const json& {
    static const json kNull;
    auto it = root.find(key);
    return it == root.end() ? kNull : *it;
  };
  if (absl::Status s = ParseWordPieceModel(member("model"), &spec); !s.ok())
    return s;
  if (absl::Status s = ParseNormalizer(member("normalizer"), &spec); !s.ok())
    return s;
  if (absl::Status s = CheckPreTokenizer(member("pre_tokenizer")); !s.ok())
    return s;
  if (absl::Status s = ParsePostProcessor(member("post_processor"), &spec);
      !s.ok())
    return s;
  if (absl::Status s = ParseAddedTokens(root, &spec); !s.ok()) return s;
  // Name the special tokens after the template where it has the usual shape.
  if (spec.prefix.size() == 1) spec.cls_token = spec.prefix[0].text;
  if (spec.suffix.size() == 1) spec.sep_token = spec.suffix[0].text;
  return spec;
}

}  // namespace attnserve::core
