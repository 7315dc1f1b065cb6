#include "core/tokenizer/tokenizer_json.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/tokenizer/decoders/bpe.h"
#include "core/tokenizer/decoders/byte_fallback.h"
#include "core/tokenizer/decoders/byte_level.h"
#include "core/tokenizer/decoders/fuse.h"
#include "core/tokenizer/decoders/metaspace.h"
#include "core/tokenizer/decoders/replace.h"
#include "core/tokenizer/decoders/sequence.h"
#include "core/tokenizer/decoders/strip.h"
#include "core/tokenizer/decoders/wordpiece.h"
#include "core/tokenizer/json_fields.h"
#include "core/tokenizer/models/bpe.h"
#include "core/tokenizer/models/unigram.h"
#include "core/tokenizer/models/wordpiece.h"
#include "core/tokenizer/normalizers/bert.h"
#include "core/tokenizer/normalizers/byte_level.h"
#include "core/tokenizer/normalizers/lowercase.h"
#include "core/tokenizer/normalizers/nmt.h"
#include "core/tokenizer/normalizers/precompiled.h"
#include "core/tokenizer/normalizers/prepend.h"
#include "core/tokenizer/normalizers/replace.h"
#include "core/tokenizer/normalizers/sequence.h"
#include "core/tokenizer/normalizers/strip.h"
#include "core/tokenizer/normalizers/strip_accents.h"
#include "core/tokenizer/normalizers/unicode.h"
#include "core/tokenizer/post_processors/bert.h"
#include "core/tokenizer/post_processors/byte_level.h"
#include "core/tokenizer/post_processors/roberta.h"
#include "core/tokenizer/post_processors/sequence.h"
#include "core/tokenizer/post_processors/template.h"
#include "core/tokenizer/pre_tokenizers/bert.h"
#include "core/tokenizer/pre_tokenizers/byte_level.h"
#include "core/tokenizer/pre_tokenizers/char_delimiter_split.h"
#include "core/tokenizer/pre_tokenizers/digits.h"
#include "core/tokenizer/pre_tokenizers/metaspace.h"
#include "core/tokenizer/pre_tokenizers/punctuation.h"
#include "core/tokenizer/pre_tokenizers/sequence.h"
#include "core/tokenizer/pre_tokenizers/split.h"
#include "core/tokenizer/pre_tokenizers/whitespace.h"
#include "core/tokenizer/pre_tokenizers/whitespace_split.h"

namespace attnserve::core::tokenizers {
namespace {

namespace jf = json_fields;
using nlohmann::json;

template <typename T>
using Parsed = absl::StatusOr<std::unique_ptr<const T>>;
template <typename T>
using Factory = Parsed<T> (*)(const json& object, const std::string& path);

absl::StatusOr<const json*> RequiredArray(const json& object,
                                          const std::string& path,
                                          const char* key) {
  ASSIGN_OR_RETURN(const json* value, jf::Required(object, path, key));
  if (!value->is_array()) {
    return jf::Error(
        jf::Child(path, key),
        absl::StrCat("is ", jf::Describe(*value), ", expected an array"));
  }
  return value;
}

// object[key], a list of components, each parsed by `parse`.
template <typename T>
absl::StatusOr<std::vector<std::unique_ptr<const T>>> ParseList(
    const json& object, const std::string& path, const char* key,
    Factory<T> parse) {
  ASSIGN_OR_RETURN(const json* list, RequiredArray(object, path, key));
  std::vector<std::unique_ptr<const T>> items;
  for (size_t i = 0; i < list->size(); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<const T> item,
                     parse((*list)[i], jf::Element(jf::Child(path, key), i)));
    items.push_back(std::move(item));
  }
  return items;
}

// The factory of a component that has no fields.
template <typename Base, typename T>
Parsed<Base> MakeDefault(const json&, const std::string&) {
  return std::make_unique<T>();
}

// Looks `object`'s "type" up in `table` and runs the factory.
template <typename T>
Parsed<T> ParseComponent(
    const json& object, const std::string& path,
    const absl::flat_hash_map<std::string, Factory<T>>& table) {
  if (!object.is_object()) {
    return jf::Error(path, absl::StrCat("is ", jf::Describe(object),
                                        ", expected an object"));
  }
  ASSIGN_OR_RETURN(const std::string type,
                   jf::RequiredString(object, path, "type"));
  auto it = table.find(type);
  if (it == table.end()) {
    return jf::Error(
        jf::Child(path, "type"),
        absl::StrCat("= ", json(type).dump(), " is not supported"));
  }
  return it->second(object, path);
}

// A {"String": s} or {"Regex": r} pattern.
absl::StatusOr<std::shared_ptr<const Regex>> ParsePattern(
    const json& object, const std::string& path) {
  ASSIGN_OR_RETURN(const json* pattern, jf::Required(object, path, "pattern"));
  const std::string pattern_path = jf::Child(path, "pattern");
  const json& p = *pattern;
  std::string regex;
  if (p.is_object() && p.size() == 1 && p.contains("String") &&
      p["String"].is_string()) {
    regex = Regex::Escape(p["String"].get<std::string>());
  } else if (p.is_object() && p.size() == 1 && p.contains("Regex") &&
             p["Regex"].is_string()) {
    regex = p["Regex"].get<std::string>();
  } else {
    return jf::Error(pattern_path,
                     absl::StrCat("is ", jf::Describe(p),
                                  ", expected {\"String\": ...} or "
                                  "{\"Regex\": ...}"));
  }
  absl::StatusOr<std::shared_ptr<const Regex>> compiled = Regex::Create(regex);
  if (!compiled.ok()) {
    return jf::Error(pattern_path, compiled.status().message());
  }
  return compiled;
}

// The fields of the Replace normalizer and decoder.
struct ReplaceFields {
  std::shared_ptr<const Regex> pattern;
  std::string content;
};

absl::StatusOr<ReplaceFields> ParseReplace(const json& object,
                                           const std::string& path) {
  ReplaceFields fields;
  ASSIGN_OR_RETURN(fields.pattern, ParsePattern(object, path));
  ASSIGN_OR_RETURN(fields.content, jf::RequiredString(object, path, "content"));
  return fields;
}

absl::StatusOr<char32_t> ParseChar(const json& object, const std::string& path,
                                   const char* key, char32_t fallback) {
  std::string text;
  RETURN_IF_ERROR(jf::String(object, path, key, &text));
  if (!object.contains(key) || object[key].is_null()) return fallback;
  size_t length = 0;
  if (text.empty() || FirstInvalidUtf8(text) >= 0 ||
      (DecodeUtf8(text, 0, &length), length != text.size())) {
    return jf::Error(
        jf::Child(path, key),
        absl::StrCat(
            "is ",
            json(text).dump(-1, ' ', false, json::error_handler_t::replace),
            ", expected one character"));
  }
  return DecodeUtf8(text, 0, &length);
}

absl::StatusOr<SplitBehavior> ParseBehavior(const json& object,
                                            const std::string& path,
                                            SplitBehavior fallback) {
  std::string name;
  RETURN_IF_ERROR(jf::String(object, path, "behavior", &name));
  if (name.empty()) return fallback;
  static const auto* const kBehaviors =
      new absl::flat_hash_map<std::string, SplitBehavior>{
          {"Removed", SplitBehavior::kRemoved},
          {"Isolated", SplitBehavior::kIsolated},
          {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
          {"MergedWithNext", SplitBehavior::kMergedWithNext},
          {"Contiguous", SplitBehavior::kContiguous}};
  auto it = kBehaviors->find(name);
  if (it == kBehaviors->end()) {
    return jf::Error(
        jf::Child(path, "behavior"),
        absl::StrCat("= ", json(name).dump(), " is not supported"));
  }
  return it->second;
}

absl::StatusOr<PrependScheme> ParsePrependScheme(const json& object,
                                                 const std::string& path) {
  // Older files: add_prefix_space true/false instead of prepend_scheme.
  std::optional<bool> add_prefix_space;
  RETURN_IF_ERROR(
      jf::OptionalBool(object, path, "add_prefix_space", &add_prefix_space));
  std::string scheme;
  RETURN_IF_ERROR(jf::String(object, path, "prepend_scheme", &scheme));
  if (scheme.empty()) {
    return add_prefix_space.value_or(true) ? PrependScheme::kAlways
                                           : PrependScheme::kNever;
  }
  if (scheme == "first") return PrependScheme::kFirst;
  if (scheme == "always") return PrependScheme::kAlways;
  if (scheme == "never") return PrependScheme::kNever;
  return jf::Error(
      jf::Child(path, "prepend_scheme"),
      absl::StrCat("= ", json(scheme).dump(), " is not supported"));
}

// ---- normalizers ----

Parsed<Normalizer> ParseNormalizer(const json& object, const std::string& path);

template <UnicodeForm kForm>
Parsed<Normalizer> MakeUnicode(const json&, const std::string&) {
  return std::make_unique<UnicodeNormalizer>(kForm);
}

Parsed<Normalizer> MakeBertNormalizer(const json& o, const std::string& path) {
  bool clean_text = true, handle_chinese_chars = true, lowercase = true;
  std::optional<bool> strip_accents;
  RETURN_IF_ERROR(jf::Bool(o, path, "clean_text", &clean_text));
  RETURN_IF_ERROR(
      jf::Bool(o, path, "handle_chinese_chars", &handle_chinese_chars));
  RETURN_IF_ERROR(jf::OptionalBool(o, path, "strip_accents", &strip_accents));
  RETURN_IF_ERROR(jf::Bool(o, path, "lowercase", &lowercase));
  return std::make_unique<BertNormalizer>(clean_text, handle_chinese_chars,
                                          strip_accents, lowercase);
}

Parsed<Normalizer> MakeStripNormalizer(const json& o, const std::string& path) {
  bool left = true, right = true;
  RETURN_IF_ERROR(jf::Bool(o, path, "strip_left", &left));
  RETURN_IF_ERROR(jf::Bool(o, path, "strip_right", &right));
  return std::make_unique<StripNormalizer>(left, right);
}

Parsed<Normalizer> MakeReplaceNormalizer(const json& o,
                                         const std::string& path) {
  ASSIGN_OR_RETURN(ReplaceFields fields, ParseReplace(o, path));
  return std::make_unique<ReplaceNormalizer>(std::move(fields.pattern),
                                             std::move(fields.content));
}

Parsed<Normalizer> MakePrependNormalizer(const json& o,
                                         const std::string& path) {
  ASSIGN_OR_RETURN(std::string prepend, jf::RequiredString(o, path, "prepend"));
  return std::make_unique<PrependNormalizer>(std::move(prepend));
}

Parsed<Normalizer> MakePrecompiledNormalizer(const json& o,
                                             const std::string& path) {
  ASSIGN_OR_RETURN(const std::string encoded,
                   jf::RequiredString(o, path, "precompiled_charsmap"));
  std::string bytes;
  if (!absl::Base64Unescape(encoded, &bytes)) {
    return jf::Error(jf::Child(path, "precompiled_charsmap"),
                     "is not valid base64");
  }
  absl::StatusOr<std::unique_ptr<PrecompiledNormalizer>> normalizer =
      PrecompiledNormalizer::Create(std::move(bytes));
  if (!normalizer.ok()) {
    return jf::Error(jf::Child(path, "precompiled_charsmap"),
                     normalizer.status().message());
  }
  return Parsed<Normalizer>(*std::move(normalizer));
}

Parsed<Normalizer> MakeSequenceNormalizer(const json& o,
                                          const std::string& path) {
  ASSIGN_OR_RETURN(auto normalizers,
                   ParseList(o, path, "normalizers", &ParseNormalizer));
  return std::make_unique<SequenceNormalizer>(std::move(normalizers));
}

const absl::flat_hash_map<std::string, Factory<Normalizer>>& NormalizerTable() {
  static const auto* const table =
      new absl::flat_hash_map<std::string, Factory<Normalizer>>{
          {"BertNormalizer", MakeBertNormalizer},
          {"NFC", MakeUnicode<UnicodeForm::kNfc>},
          {"NFD", MakeUnicode<UnicodeForm::kNfd>},
          {"NFKC", MakeUnicode<UnicodeForm::kNfkc>},
          {"NFKD", MakeUnicode<UnicodeForm::kNfkd>},
          {"Lowercase", MakeDefault<Normalizer, LowercaseNormalizer>},
          {"Nmt", MakeDefault<Normalizer, NmtNormalizer>},
          {"ByteLevel", MakeDefault<Normalizer, ByteLevelNormalizer>},
          {"StripAccents", MakeDefault<Normalizer, StripAccentsNormalizer>},
          {"Strip", MakeStripNormalizer},
          {"Replace", MakeReplaceNormalizer},
          {"Prepend", MakePrependNormalizer},
          {"Precompiled", MakePrecompiledNormalizer},
          {"Sequence", MakeSequenceNormalizer},
      };
  return *table;
}

Parsed<Normalizer> ParseNormalizer(const json& object,
                                   const std::string& path) {
  return ParseComponent(object, path, NormalizerTable());
}

// ---- pre-tokenizers ----

Parsed<PreTokenizer> ParsePreTokenizer(const json& object,
                                       const std::string& path);

Parsed<PreTokenizer> MakeByteLevelPreTokenizer(const json& o,
                                               const std::string& path) {
  bool add_prefix_space = true, use_regex = true;
  RETURN_IF_ERROR(jf::Bool(o, path, "add_prefix_space", &add_prefix_space));
  RETURN_IF_ERROR(jf::Bool(o, path, "use_regex", &use_regex));
  return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, use_regex);
}

Parsed<PreTokenizer> MakeMetaspacePreTokenizer(const json& o,
                                               const std::string& path) {
  ASSIGN_OR_RETURN(const char32_t replacement,
                   ParseChar(o, path, "replacement", U'\u2581'));
  ASSIGN_OR_RETURN(const PrependScheme scheme, ParsePrependScheme(o, path));
  bool split = true;
  RETURN_IF_ERROR(jf::Bool(o, path, "split", &split));
  return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, split);
}

Parsed<PreTokenizer> MakeCharDelimiterSplitPreTokenizer(
    const json& o, const std::string& path) {
  if (!o.contains("delimiter")) {
    return jf::Error(jf::Child(path, "delimiter"), "is missing");
  }
  ASSIGN_OR_RETURN(const char32_t delimiter,
                   ParseChar(o, path, "delimiter", U' '));
  return std::make_unique<CharDelimiterSplitPreTokenizer>(delimiter);
}

Parsed<PreTokenizer> MakePunctuationPreTokenizer(const json& o,
                                                 const std::string& path) {
  ASSIGN_OR_RETURN(const SplitBehavior behavior,
                   ParseBehavior(o, path, SplitBehavior::kIsolated));
  return std::make_unique<PunctuationPreTokenizer>(behavior);
}

Parsed<PreTokenizer> MakeDigitsPreTokenizer(const json& o,
                                            const std::string& path) {
  bool individual = false;
  RETURN_IF_ERROR(jf::Bool(o, path, "individual_digits", &individual));
  return std::make_unique<DigitsPreTokenizer>(individual);
}

Parsed<PreTokenizer> MakeSplitPreTokenizer(const json& o,
                                           const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Regex> pattern, ParsePattern(o, path));
  if (!o.contains("behavior")) {
    return jf::Error(jf::Child(path, "behavior"), "is missing");
  }
  ASSIGN_OR_RETURN(const SplitBehavior behavior,
                   ParseBehavior(o, path, SplitBehavior::kRemoved));
  bool invert = false;
  RETURN_IF_ERROR(jf::Bool(o, path, "invert", &invert));
  return std::make_unique<SplitPreTokenizer>(std::move(pattern), behavior,
                                             invert);
}

Parsed<PreTokenizer> MakeSequencePreTokenizer(const json& o,
                                              const std::string& path) {
  ASSIGN_OR_RETURN(auto items,
                   ParseList(o, path, "pretokenizers", &ParsePreTokenizer));
  return std::make_unique<SequencePreTokenizer>(std::move(items));
}

const absl::flat_hash_map<std::string, Factory<PreTokenizer>>&
PreTokenizerTable() {
  static const auto* const table =
      new absl::flat_hash_map<std::string, Factory<PreTokenizer>>{
          {"BertPreTokenizer", MakeDefault<PreTokenizer, BertPreTokenizer>},
          {"ByteLevel", MakeByteLevelPreTokenizer},
          {"Metaspace", MakeMetaspacePreTokenizer},
          {"Whitespace", MakeDefault<PreTokenizer, WhitespacePreTokenizer>},
          {"WhitespaceSplit",
           MakeDefault<PreTokenizer, WhitespaceSplitPreTokenizer>},
          {"CharDelimiterSplit", MakeCharDelimiterSplitPreTokenizer},
          {"Punctuation", MakePunctuationPreTokenizer},
          {"Digits", MakeDigitsPreTokenizer},
          {"Split", MakeSplitPreTokenizer},
          {"Sequence", MakeSequencePreTokenizer},
      };
  return *table;
}

Parsed<PreTokenizer> ParsePreTokenizer(const json& object,
                                       const std::string& path) {
  return ParseComponent(object, path, PreTokenizerTable());
}

// ---- models ----

template <typename T>
Parsed<Model> MakeModel(const json& object, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<T> model, T::FromJson(object, path));
  return Parsed<Model>(std::move(model));
}

const absl::flat_hash_map<std::string, Factory<Model>>& ModelTable() {
  static const auto* const table =
      new absl::flat_hash_map<std::string, Factory<Model>>{
          {"WordPiece", MakeModel<WordPiece>},
          {"BPE", MakeModel<Bpe>},
          {"Unigram", MakeModel<Unigram>},
      };
  return *table;
}

Parsed<Model> ParseModel(const json& object, const std::string& path) {
  return ParseComponent(object, path, ModelTable());
}

// ---- post-processors ----

absl::StatusOr<SpecialToken> ParseSpecialPair(const json& o,
                                              const std::string& path,
                                              const char* key) {
  ASSIGN_OR_RETURN(const json* value, jf::Required(o, path, key));
  const json& v = *value;
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() ||
      !v[1].is_number_integer() || v[1].get<int64_t>() < 0 ||
      v[1].get<int64_t>() > INT32_MAX) {
    return jf::Error(
        jf::Child(path, key),
        absl::StrCat("is ", jf::Describe(v), ", expected [token, id]"));
  }
  return SpecialToken{v[0].get<std::string>(),
                      static_cast<int32_t>(v[1].get<int64_t>())};
}

// One element of a template: {"Sequence": {"id": "A", "type_id": 0}} or
// {"SpecialToken": {"id": "[CLS]", "type_id": 0}}.
absl::StatusOr<TemplatePostProcessor::Piece> ParseTemplatePiece(
    const json& p, const std::string& piece_path) {
  TemplatePostProcessor::Piece piece;
  const json* body = nullptr;
  if (p.is_object() && p.size() == 1 && p.contains("Sequence")) {
    body = &p["Sequence"];
    piece.is_sequence = true;
  } else if (p.is_object() && p.size() == 1 && p.contains("SpecialToken")) {
    body = &p["SpecialToken"];
  } else {
    return jf::Error(piece_path, absl::StrCat("is ", jf::Describe(p),
                                              ", expected {\"Sequence\": ...} "
                                              "or {\"SpecialToken\": ...}"));
  }
  const std::string body_path =
      jf::Child(piece_path, piece.is_sequence ? "Sequence" : "SpecialToken");
  if (!body->is_object()) {
    return jf::Error(body_path, "is not an object");
  }
  ASSIGN_OR_RETURN(const std::string id,
                   jf::RequiredString(*body, body_path, "id"));
  int64_t type_id = 0;
  RETURN_IF_ERROR(jf::Int(*body, body_path, "type_id", &type_id));
  if (type_id < 0 || type_id > INT32_MAX) {
    return jf::Error(jf::Child(body_path, "type_id"), "is out of range");
  }
  piece.type_id = static_cast<uint32_t>(type_id);
  if (piece.is_sequence) {
    if (id != "A" && id != "B") {
      return jf::Error(
          jf::Child(body_path, "id"),
          absl::StrCat("= ", json(id).dump(), ", expected \"A\" or \"B\""));
    }
    piece.sequence = id == "A" ? 0 : 1;
  } else {
    piece.special_id = id;
  }
  return piece;
}

absl::StatusOr<std::vector<TemplatePostProcessor::Piece>> ParseTemplate(
    const json& o, const std::string& path, const char* key) {
  ASSIGN_OR_RETURN(const json* list, RequiredArray(o, path, key));
  std::vector<TemplatePostProcessor::Piece> pieces;
  for (size_t i = 0; i < list->size(); ++i) {
    ASSIGN_OR_RETURN(
        TemplatePostProcessor::Piece piece,
        ParseTemplatePiece((*list)[i], jf::Element(jf::Child(path, key), i)));
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

// TemplateProcessing's "special_tokens": {name: {"ids": [...], "tokens":
// [...]}}.
absl::StatusOr<
    std::vector<std::pair<std::string, TemplatePostProcessor::Special>>>
ParseTemplateSpecials(const json& specials, const std::string& specials_path) {
  if (!specials.is_object()) {
    return jf::Error(specials_path, "is not an object");
  }
  std::vector<std::pair<std::string, TemplatePostProcessor::Special>> table;
  for (const auto& [key, value] : specials.items()) {
    const std::string entry_path = jf::Child(specials_path, key);
    TemplatePostProcessor::Special special;
    if (!value.is_object() || !value.contains("ids") ||
        !value.contains("tokens") || !value["ids"].is_array() ||
        !value["tokens"].is_array() ||
        value["ids"].size() != value["tokens"].size()) {
      return jf::Error(entry_path,
                       "expected {\"ids\": [...], \"tokens\": [...]} of "
                       "equal lengths");
    }
    for (size_t i = 0; i < value["ids"].size(); ++i) {
      const json& id = value["ids"][i];
      const json& token = value["tokens"][i];
      if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
          id.get<int64_t>() > INT32_MAX || !token.is_string()) {
        return jf::Error(jf::Element(jf::Child(entry_path, "ids"), i),
                         "is not a token id with a token string");
      }
      special.ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
      special.tokens.push_back(token.get<std::string>());
    }
    table.emplace_back(key, std::move(special));
  }
  return table;
}

Parsed<PostProcessor> ParsePostProcessor(const json& object,
                                         const std::string& path);

Parsed<PostProcessor> MakeBertPostProcessor(const json& o,
                                            const std::string& path) {
  ASSIGN_OR_RETURN(SpecialToken sep, ParseSpecialPair(o, path, "sep"));
  ASSIGN_OR_RETURN(SpecialToken cls, ParseSpecialPair(o, path, "cls"));
  return std::make_unique<BertPostProcessor>(std::move(sep), std::move(cls));
}

Parsed<PostProcessor> MakeRobertaPostProcessor(const json& o,
                                               const std::string& path) {
  ASSIGN_OR_RETURN(SpecialToken sep, ParseSpecialPair(o, path, "sep"));
  ASSIGN_OR_RETURN(SpecialToken cls, ParseSpecialPair(o, path, "cls"));
  bool trim_offsets = true, add_prefix_space = true;
  RETURN_IF_ERROR(jf::Bool(o, path, "trim_offsets", &trim_offsets));
  RETURN_IF_ERROR(jf::Bool(o, path, "add_prefix_space", &add_prefix_space));
  return std::make_unique<RobertaPostProcessor>(std::move(sep), std::move(cls),
                                                trim_offsets, add_prefix_space);
}

Parsed<PostProcessor> MakeTemplatePostProcessor(const json& o,
                                                const std::string& path) {
  ASSIGN_OR_RETURN(auto single, ParseTemplate(o, path, "single"));
  ASSIGN_OR_RETURN(auto pair, ParseTemplate(o, path, "pair"));
  ASSIGN_OR_RETURN(const json* specials,
                   jf::Required(o, path, "special_tokens"));
  const std::string specials_path = jf::Child(path, "special_tokens");
  ASSIGN_OR_RETURN(auto table, ParseTemplateSpecials(*specials, specials_path));
  for (const auto* pieces : {&single, &pair}) {
    for (const auto& piece : *pieces) {
      if (piece.is_sequence) continue;
      bool found = false;
      for (const auto& entry : table) found |= entry.first == piece.special_id;
      if (!found) {
        return jf::Error(
            specials_path,
            absl::StrCat("has no entry for ", json(piece.special_id).dump()));
      }
    }
  }
  return std::make_unique<TemplatePostProcessor>(
      std::move(single), std::move(pair), std::move(table));
}

Parsed<PostProcessor> MakeByteLevelPostProcessor(const json& o,
                                                 const std::string& path) {
  bool trim_offsets = true, add_prefix_space = true;
  RETURN_IF_ERROR(jf::Bool(o, path, "trim_offsets", &trim_offsets));
  RETURN_IF_ERROR(jf::Bool(o, path, "add_prefix_space", &add_prefix_space));
  return std::make_unique<ByteLevelPostProcessor>(trim_offsets,
                                                  add_prefix_space);
}

Parsed<PostProcessor> MakeSequencePostProcessor(const json& o,
                                                const std::string& path) {
  ASSIGN_OR_RETURN(auto items,
                   ParseList(o, path, "processors", &ParsePostProcessor));
  return std::make_unique<SequencePostProcessor>(std::move(items));
}

const absl::flat_hash_map<std::string, Factory<PostProcessor>>&
PostProcessorTable() {
  static const auto* const table =
      new absl::flat_hash_map<std::string, Factory<PostProcessor>>{
          {"BertProcessing", MakeBertPostProcessor},
          {"RobertaProcessing", MakeRobertaPostProcessor},
          {"TemplateProcessing", MakeTemplatePostProcessor},
          {"ByteLevel", MakeByteLevelPostProcessor},
          {"Sequence", MakeSequencePostProcessor},
      };
  return *table;
}

Parsed<PostProcessor> ParsePostProcessor(const json& object,
                                         const std::string& path) {
  return ParseComponent(object, path, PostProcessorTable());
}

// ---- decoders ----

Parsed<Decoder> ParseDecoder(const json& object, const std::string& path);

Parsed<Decoder> MakeWordPieceDecoder(const json& o, const std::string& path) {
  std::string prefix = "##";
  bool cleanup = true;
  RETURN_IF_ERROR(jf::String(o, path, "prefix", &prefix));
  RETURN_IF_ERROR(jf::Bool(o, path, "cleanup", &cleanup));
  return std::make_unique<WordPieceDecoder>(std::move(prefix), cleanup);
}

Parsed<Decoder> MakeMetaspaceDecoder(const json& o, const std::string& path) {
  ASSIGN_OR_RETURN(const char32_t replacement,
                   ParseChar(o, path, "replacement", U'\u2581'));
  ASSIGN_OR_RETURN(const PrependScheme scheme, ParsePrependScheme(o, path));
  return std::make_unique<MetaspaceDecoder>(replacement, scheme);
}

Parsed<Decoder> MakeStripDecoder(const json& o, const std::string& path) {
  ASSIGN_OR_RETURN(const char32_t content, ParseChar(o, path, "content", U' '));
  int64_t start = 0, stop = 0;
  RETURN_IF_ERROR(jf::Int(o, path, "start", &start));
  RETURN_IF_ERROR(jf::Int(o, path, "stop", &stop));
  if (start < 0 || stop < 0) {
    return jf::Error(path, "start and stop must be >= 0");
  }
  return std::make_unique<StripDecoder>(content, static_cast<size_t>(start),
                                        static_cast<size_t>(stop));
}

Parsed<Decoder> MakeReplaceDecoder(const json& o, const std::string& path) {
  ASSIGN_OR_RETURN(ReplaceFields fields, ParseReplace(o, path));
  return std::make_unique<ReplaceDecoder>(std::move(fields.pattern),
                                          std::move(fields.content));
}

Parsed<Decoder> MakeBpeDecoder(const json& o, const std::string& path) {
  std::string suffix = "</w>";
  RETURN_IF_ERROR(jf::String(o, path, "suffix", &suffix));
  return std::make_unique<BpeDecoder>(std::move(suffix));
}

Parsed<Decoder> MakeSequenceDecoder(const json& o, const std::string& path) {
  ASSIGN_OR_RETURN(auto items, ParseList(o, path, "decoders", &ParseDecoder));
  return std::make_unique<SequenceDecoder>(std::move(items));
}

const absl::flat_hash_map<std::string, Factory<Decoder>>& DecoderTable() {
  static const auto* const table =
      new absl::flat_hash_map<std::string, Factory<Decoder>>{
          {"WordPiece", MakeWordPieceDecoder},
          {"ByteLevel", MakeDefault<Decoder, ByteLevelDecoder>},
          {"Metaspace", MakeMetaspaceDecoder},
          {"ByteFallback", MakeDefault<Decoder, ByteFallbackDecoder>},
          {"Fuse", MakeDefault<Decoder, FuseDecoder>},
          {"Strip", MakeStripDecoder},
          {"Replace", MakeReplaceDecoder},
          {"BPEDecoder", MakeBpeDecoder},
          {"Sequence", MakeSequenceDecoder},
      };
  return *table;
}

Parsed<Decoder> ParseDecoder(const json& object, const std::string& path) {
  return ParseComponent(object, path, DecoderTable());
}

// ---- added tokens ----

absl::StatusOr<std::vector<AddedToken>> ParseAddedTokens(const json& root) {
  std::vector<AddedToken> tokens;
  auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return tokens;
  if (!it->is_array()) {
    return jf::Error("added_tokens", absl::StrCat("is ", jf::Describe(*it),
                                                  ", expected an array"));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string path = jf::Element("added_tokens", i);
    const json& t = (*it)[i];
    if (!t.is_object()) return jf::Error(path, "is not an object");
    AddedToken token;
    ASSIGN_OR_RETURN(token.content, jf::RequiredString(t, path, "content"));
    int64_t id = -1;
    RETURN_IF_ERROR(jf::Int(t, path, "id", &id));
    if (id < 0 || id > INT32_MAX) {
      return jf::Error(jf::Child(path, "id"),
                       absl::StrCat("is ", id, ", expected an id >= 0"));
    }
    token.id = static_cast<int32_t>(id);
    RETURN_IF_ERROR(jf::Bool(t, path, "special", &token.special));
    token.normalized = !token.special;  // HF's default
    RETURN_IF_ERROR(jf::Bool(t, path, "single_word", &token.single_word));
    RETURN_IF_ERROR(jf::Bool(t, path, "lstrip", &token.lstrip));
    RETURN_IF_ERROR(jf::Bool(t, path, "rstrip", &token.rstrip));
    RETURN_IF_ERROR(jf::Bool(t, path, "normalized", &token.normalized));
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// root[key] through `parse` into *out; an absent or null section leaves
// *out unset.
template <typename T>
absl::Status ParseSection(const json& root, const char* key, Factory<T> parse,
                          std::unique_ptr<const T>* out) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return absl::OkStatus();
  ASSIGN_OR_RETURN(*out, parse(*it, key));
  return absl::OkStatus();
}

absl::Status ParseParts(const json& root, TokenizerParts* parts) {
  RETURN_IF_ERROR(
      ParseSection(root, "normalizer", &ParseNormalizer, &parts->normalizer));
  RETURN_IF_ERROR(ParseSection(root, "pre_tokenizer", &ParsePreTokenizer,
                               &parts->pre_tokenizer));
  RETURN_IF_ERROR(ParseSection(root, "model", &ParseModel, &parts->model));
  if (parts->model == nullptr) return jf::Error("model", "is missing");
  RETURN_IF_ERROR(ParseSection(root, "post_processor", &ParsePostProcessor,
                               &parts->post_processor));
  RETURN_IF_ERROR(
      ParseSection(root, "decoder", &ParseDecoder, &parts->decoder));
  ASSIGN_OR_RETURN(parts->added_tokens, ParseAddedTokens(root));
  // HF gives an added token the model's id when the model has its content.
  for (AddedToken& token : parts->added_tokens) {
    if (std::optional<int32_t> id = parts->model->TokenToId(token.content)) {
      token.id = *id;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> ParseTokenizerJson(
    std::string_view bytes, const TokenizerSettings& settings) {
  json root = json::parse(bytes.begin(), bytes.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return absl::InvalidArgumentError("tokenizer.json: not valid JSON");
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        "tokenizer.json: top level is not a JSON object");
  }
  TokenizerParts parts;
  parts.model_max_length = settings.model_max_length;
  parts.clean_up_tokenization_spaces = settings.clean_up_tokenization_spaces;
  if (absl::Status status = ParseParts(root, &parts); !status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("tokenizer.json: ", status.message()));
  }
  return std::make_unique<Tokenizer>(std::move(parts));
}

}  // namespace attnserve::core::tokenizers
