#include "core/tokenizer/tokenizer_json.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/tokenizer/decoders/decoders.h"
#include "core/tokenizer/json_fields.h"
#include "core/tokenizer/models/bpe.h"
#include "core/tokenizer/models/unigram.h"
#include "core/tokenizer/models/wordpiece.h"
#include "core/tokenizer/normalizers/bert.h"
#include "core/tokenizer/normalizers/nmt.h"
#include "core/tokenizer/normalizers/precompiled.h"
#include "core/tokenizer/normalizers/prepend.h"
#include "core/tokenizer/normalizers/replace.h"
#include "core/tokenizer/normalizers/strip.h"
#include "core/tokenizer/normalizers/unicode.h"
#include "core/tokenizer/normalizers/utils.h"
#include "core/tokenizer/post_processors/bert.h"
#include "core/tokenizer/post_processors/byte_level.h"
#include "core/tokenizer/post_processors/sequence.h"
#include "core/tokenizer/post_processors/template.h"
#include "core/tokenizer/pre_tokenizers/byte_level.h"
#include "core/tokenizer/pre_tokenizers/metaspace.h"
#include "core/tokenizer/pre_tokenizers/simple.h"
#include "core/tokenizer/pre_tokenizers/split.h"

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
  absl::StatusOr<const json*> value = jf::Required(object, path, key);
  if (!value.ok()) return value.status();
  if (!(*value)->is_array()) {
    return jf::Error(
        jf::Child(path, key),
        absl::StrCat("is ", jf::Describe(**value), ", expected an array"));
  }
  return value;
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
  absl::StatusOr<std::string> type = jf::RequiredString(object, path, "type");
  if (!type.ok()) return type.status();
  auto it = table.find(*type);
  if (it == table.end()) {
    return jf::Error(
        jf::Child(path, "type"),
        absl::StrCat("= ", json(*type).dump(), " is not supported"));
  }
  return it->second(object, path);
}

// A {"String": s} or {"Regex": r} pattern.
absl::StatusOr<std::shared_ptr<const Regex>> ParsePattern(
    const json& object, const std::string& path) {
  absl::StatusOr<const json*> pattern = jf::Required(object, path, "pattern");
  if (!pattern.ok()) return pattern.status();
  const std::string pattern_path = jf::Child(path, "pattern");
  const json& p = **pattern;
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
  if (!compiled.ok())
    return jf::Error(pattern_path, compiled.status().message());
  return compiled;
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

const absl::flat_hash_map<std::string, Factory<Normalizer>>& NormalizerTable() {
  static const auto* const table =
      new absl::flat_hash_map<std::string, Factory<Normalizer>>{
          {"BertNormalizer",
           [](const json& o, const std::string& path) -> Parsed<Normalizer> {
             bool clean_text = true, handle_chinese_chars = true,
                  lowercase = true;
             std::optional<bool> strip_accents;
             RETURN_IF_ERROR(jf::Bool(o, path, "clean_text", &clean_text));
             RETURN_IF_ERROR(jf::Bool(o, path, "handle_chinese_chars",
                                      &handle_chinese_chars));
             RETURN_IF_ERROR(
                 jf::OptionalBool(o, path, "strip_accents", &strip_accents));
             RETURN_IF_ERROR(jf::Bool(o, path, "lowercase", &lowercase));
             return std::make_unique<BertNormalizer>(
                 clean_text, handle_chinese_chars, strip_accents, lowercase);
           }},
          {"NFC", MakeUnicode<UnicodeForm::kNfc>},
          {"NFD", MakeUnicode<UnicodeForm::kNfd>},
          {"NFKC", MakeUnicode<UnicodeForm::kNfkc>},
          {"NFKD", MakeUnicode<UnicodeForm::kNfkd>},
          {"Lowercase",
           [](const json&, const std::string&) -> Parsed<Normalizer> {
             return std::make_unique<LowercaseNormalizer>();
           }},
          {"Nmt",
           [](const json&, const std::string&) -> Parsed<Normalizer> {
             return std::make_unique<NmtNormalizer>();
           }},
          {"ByteLevel",
           [](const json&, const std::string&) -> Parsed<Normalizer> {
             return std::make_unique<ByteLevelNormalizer>();
           }},
          {"StripAccents",
           [](const json&, const std::string&) -> Parsed<Normalizer> {
             return std::make_unique<StripAccentsNormalizer>();
           }},
          {"Strip",
           [](const json& o, const std::string& path) -> Parsed<Normalizer> {
             bool left = true, right = true;
             RETURN_IF_ERROR(jf::Bool(o, path, "strip_left", &left));
             RETURN_IF_ERROR(jf::Bool(o, path, "strip_right", &right));
             return std::make_unique<StripNormalizer>(left, right);
           }},
          {"Replace",
           [](const json& o, const std::string& path) -> Parsed<Normalizer> {
             absl::StatusOr<std::shared_ptr<const Regex>> pattern =
                 ParsePattern(o, path);
             if (!pattern.ok()) return pattern.status();
             absl::StatusOr<std::string> content =
                 jf::RequiredString(o, path, "content");
             if (!content.ok()) return content.status();
             return std::make_unique<ReplaceNormalizer>(*std::move(pattern),
                                                        *std::move(content));
           }},
          {"Prepend",
           [](const json& o, const std::string& path) -> Parsed<Normalizer> {
             absl::StatusOr<std::string> prepend =
                 jf::RequiredString(o, path, "prepend");
             if (!prepend.ok()) return prepend.status();
             return std::make_unique<PrependNormalizer>(*std::move(prepend));
           }},
          {"Precompiled",
           [](const json& o, const std::string& path) -> Parsed<Normalizer> {
             absl::StatusOr<std::string> encoded =
                 jf::RequiredString(o, path, "precompiled_charsmap");
             if (!encoded.ok()) return encoded.status();
             std::string bytes;
             if (!absl::Base64Unescape(*encoded, &bytes)) {
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
           }},
          {"Sequence",
           [](const json& o, const std::string& path) -> Parsed<Normalizer> {
             absl::StatusOr<const json*> list =
                 RequiredArray(o, path, "normalizers");
             if (!list.ok()) return list.status();
             std::vector<std::unique_ptr<const Normalizer>> normalizers;
             for (size_t i = 0; i < (*list)->size(); ++i) {
               Parsed<Normalizer> n = ParseNormalizer(
                   (**list)[i], jf::Element(jf::Child(path, "normalizers"), i));
               if (!n.ok()) return n.status();
               normalizers.push_back(*std::move(n));
             }
             return std::make_unique<SequenceNormalizer>(
                 std::move(normalizers));
           }},
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

const absl::flat_hash_map<std::string, Factory<PreTokenizer>>&
PreTokenizerTable() {
  static const auto* const table =
      new absl::flat_hash_map<std::string, Factory<PreTokenizer>>{
          {"BertPreTokenizer",
           [](const json&, const std::string&) -> Parsed<PreTokenizer> {
             return std::make_unique<BertPreTokenizer>();
           }},
          {"ByteLevel",
           [](const json& o, const std::string& path) -> Parsed<PreTokenizer> {
             bool add_prefix_space = true, use_regex = true;
             RETURN_IF_ERROR(
                 jf::Bool(o, path, "add_prefix_space", &add_prefix_space));
             RETURN_IF_ERROR(jf::Bool(o, path, "use_regex", &use_regex));
             return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space,
                                                            use_regex);
           }},
          {"Metaspace",
           [](const json& o, const std::string& path) -> Parsed<PreTokenizer> {
             absl::StatusOr<char32_t> replacement =
                 ParseChar(o, path, "replacement", U'\u2581');
             if (!replacement.ok()) return replacement.status();
             absl::StatusOr<PrependScheme> scheme = ParsePrependScheme(o, path);
             if (!scheme.ok()) return scheme.status();
             bool split = true;
             RETURN_IF_ERROR(jf::Bool(o, path, "split", &split));
             return std::make_unique<MetaspacePreTokenizer>(*replacement,
                                                            *scheme, split);
           }},
          {"Whitespace",
           [](const json&, const std::string&) -> Parsed<PreTokenizer> {
             return std::make_unique<WhitespacePreTokenizer>();
           }},
          {"WhitespaceSplit",
           [](const json&, const std::string&) -> Parsed<PreTokenizer> {
             return std::make_unique<WhitespaceSplitPreTokenizer>();
           }},
          {"CharDelimiterSplit",
           [](const json& o, const std::string& path) -> Parsed<PreTokenizer> {
             if (!o.contains("delimiter")) {
               return jf::Error(jf::Child(path, "delimiter"), "is missing");
             }
             absl::StatusOr<char32_t> delimiter =
                 ParseChar(o, path, "delimiter", U' ');
             if (!delimiter.ok()) return delimiter.status();
             return std::make_unique<CharDelimiterSplitPreTokenizer>(
                 *delimiter);
           }},
          {"Punctuation",
           [](const json& o, const std::string& path) -> Parsed<PreTokenizer> {
             absl::StatusOr<SplitBehavior> behavior =
                 ParseBehavior(o, path, SplitBehavior::kIsolated);
             if (!behavior.ok()) return behavior.status();
             return std::make_unique<PunctuationPreTokenizer>(*behavior);
           }},
          {"Digits",
           [](const json& o, const std::string& path) -> Parsed<PreTokenizer> {
             bool individual = false;
             RETURN_IF_ERROR(
                 jf::Bool(o, path, "individual_digits", &individual));
             return std::make_unique<DigitsPreTokenizer>(individual);
           }},
          {"Split",
           [](const json& o, const std::string& path) -> Parsed<PreTokenizer> {
             absl::StatusOr<std::shared_ptr<const Regex>> pattern =
                 ParsePattern(o, path);
             if (!pattern.ok()) return pattern.status();
             if (!o.contains("behavior")) {
               return jf::Error(jf::Child(path, "behavior"), "is missing");
             }
             absl::StatusOr<SplitBehavior> behavior =
                 ParseBehavior(o, path, SplitBehavior::kRemoved);
             if (!behavior.ok()) return behavior.status();
             bool invert = false;
             RETURN_IF_ERROR(jf::Bool(o, path, "invert", &invert));
             return std::make_unique<SplitPreTokenizer>(*std::move(pattern),
                                                        *behavior, invert);
           }},
          {"Sequence",
           [](const json& o, const std::string& path) -> Parsed<PreTokenizer> {
             absl::StatusOr<const json*> list =
                 RequiredArray(o, path, "pretokenizers");
             if (!list.ok()) return list.status();
             std::vector<std::unique_ptr<const PreTokenizer>> items;
             for (size_t i = 0; i < (*list)->size(); ++i) {
               Parsed<PreTokenizer> p = ParsePreTokenizer(
                   (**list)[i],
                   jf::Element(jf::Child(path, "pretokenizers"), i));
               if (!p.ok()) return p.status();
               items.push_back(*std::move(p));
             }
             return std::make_unique<SequencePreTokenizer>(std::move(items));
           }},
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
  absl::StatusOr<std::unique_ptr<T>> model = T::FromJson(object, path);
  if (!model.ok()) return model.status();
  return Parsed<Model>(*std::move(model));
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

// ---- post-processors ----

absl::StatusOr<SpecialToken> ParseSpecialPair(const json& o,
                                              const std::string& path,
                                              const char* key) {
  absl::StatusOr<const json*> value = jf::Required(o, path, key);
  if (!value.ok()) return value.status();
  const json& v = **value;
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

absl::StatusOr<std::vector<TemplatePostProcessor::Piece>> ParseTemplate(
    const json& o, const std::string& path, const char* key) {
  absl::StatusOr<const json*> list = RequiredArray(o, path, key);
  if (!list.ok()) return list.status();
  std::vector<TemplatePostProcessor::Piece> pieces;
  for (size_t i = 0; i < (*list)->size(); ++i) {
    const std::string piece_path = jf::Element(jf::Child(path, key), i);
    const json& p = (**list)[i];
    TemplatePostProcessor::Piece piece;
    const json* body = nullptr;
    if (p.is_object() && p.size() == 1 && p.contains("Sequence")) {
      body = &p["Sequence"];
      piece.is_sequence = true;
    } else if (p.is_object() && p.size() == 1 && p.contains("SpecialToken")) {
      body = &p["SpecialToken"];
    } else {
      return jf::Error(piece_path,
                       absl::StrCat("is ", jf::Describe(p),
                                    ", expected {\"Sequence\": ...} or "
                                    "{\"SpecialToken\": ...}"));
    }
    const std::string body_path =
        jf::Child(piece_path, piece.is_sequence ? "Sequence" : "SpecialToken");
    if (!body->is_object()) {
      return jf::Error(body_path, "is not an object");
    }
    absl::StatusOr<std::string> id = jf::RequiredString(*body, body_path, "id");
    if (!id.ok()) return id.status();
    int64_t type_id = 0;
    RETURN_IF_ERROR(jf::Int(*body, body_path, "type_id", &type_id));
    if (type_id < 0 || type_id > INT32_MAX) {
      return jf::Error(jf::Child(body_path, "type_id"), "is out of range");
    }
    piece.type_id = static_cast<uint32_t>(type_id);
    if (piece.is_sequence) {
      if (*id != "A" && *id != "B") {
        return jf::Error(
            jf::Child(body_path, "id"),
            absl::StrCat("= ", json(*id).dump(), ", expected \"A\" or \"B\""));
      }
      piece.sequence = *id == "A" ? 0 : 1;
    } else {
      piece.special_id = *id;
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

Parsed<PostProcessor> ParsePostProcessor(const json& object,
                                         const std::string& path);

const absl::flat_hash_map<std::string, Factory<PostProcessor>>&
PostProcessorTable() {
  static const auto* const table = new absl::flat_hash_map<
      std::string, Factory<PostProcessor>>{
      {"BertProcessing",
       [](const json& o, const std::string& path) -> Parsed<PostProcessor> {
         absl::StatusOr<SpecialToken> sep = ParseSpecialPair(o, path, "sep");
         if (!sep.ok()) return sep.status();
         absl::StatusOr<SpecialToken> cls = ParseSpecialPair(o, path, "cls");
         if (!cls.ok()) return cls.status();
         return std::make_unique<BertPostProcessor>(*std::move(sep),
                                                    *std::move(cls));
       }},
      {"RobertaProcessing",
       [](const json& o, const std::string& path) -> Parsed<PostProcessor> {
         absl::StatusOr<SpecialToken> sep = ParseSpecialPair(o, path, "sep");
         if (!sep.ok()) return sep.status();
         absl::StatusOr<SpecialToken> cls = ParseSpecialPair(o, path, "cls");
         if (!cls.ok()) return cls.status();
         bool trim_offsets = true, add_prefix_space = true;
         RETURN_IF_ERROR(jf::Bool(o, path, "trim_offsets", &trim_offsets));
         RETURN_IF_ERROR(
             jf::Bool(o, path, "add_prefix_space", &add_prefix_space));
         return std::make_unique<RobertaPostProcessor>(
             *std::move(sep), *std::move(cls), trim_offsets, add_prefix_space);
       }},
      {"TemplateProcessing",
       [](const json& o, const std::string& path) -> Parsed<PostProcessor> {
         auto single = ParseTemplate(o, path, "single");
         if (!single.ok()) return single.status();
         auto pair = ParseTemplate(o, path, "pair");
         if (!pair.ok()) return pair.status();
         absl::StatusOr<const json*> specials =
             jf::Required(o, path, "special_tokens");
         if (!specials.ok()) return specials.status();
         const std::string specials_path = jf::Child(path, "special_tokens");
         if (!(*specials)->is_object()) {
           return jf::Error(specials_path, "is not an object");
         }
         std::vector<std::pair<std::string, TemplatePostProcessor::Special>>
             table;
         for (const auto& [key, value] : (*specials)->items()) {
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
         for (const auto* pieces : {&*single, &*pair}) {
           for (const auto& piece : *pieces) {
             if (piece.is_sequence) continue;
             bool found = false;
             for (const auto& entry : table)
               found |= entry.first == piece.special_id;
             if (!found) {
               return jf::Error(specials_path,
                                absl::StrCat("has no entry for ",
                                             json(piece.special_id).dump()));
             }
           }
         }
         return std::make_unique<TemplatePostProcessor>(
             *std::move(single), *std::move(pair), std::move(table));
       }},
      {"ByteLevel",
       [](const json& o, const std::string& path) -> Parsed<PostProcessor> {
         bool trim_offsets = true, add_prefix_space = true;
         RETURN_IF_ERROR(jf::Bool(o, path, "trim_offsets", &trim_offsets));
         RETURN_IF_ERROR(
             jf::Bool(o, path, "add_prefix_space", &add_prefix_space));
         return std::make_unique<ByteLevelPostProcessor>(trim_offsets,
                                                         add_prefix_space);
       }},
      {"Sequence",
       [](const json& o, const std::string& path) -> Parsed<PostProcessor> {
         absl::StatusOr<const json*> list =
             RequiredArray(o, path, "processors");
         if (!list.ok()) return list.status();
         std::vector<std::unique_ptr<const PostProcessor>> items;
         for (size_t i = 0; i < (*list)->size(); ++i) {
           Parsed<PostProcessor> p = ParsePostProcessor(
               (**list)[i], jf::Element(jf::Child(path, "processors"), i));
           if (!p.ok()) return p.status();
           items.push_back(*std::move(p));
         }
         return std::make_unique<SequencePostProcessor>(std::move(items));
       }},
  };
  return *table;
}

Parsed<PostProcessor> ParsePostProcessor(const json& object,
                                         const std::string& path) {
  return ParseComponent(object, path, PostProcessorTable());
}

// ---- decoders ----

Parsed<Decoder> ParseDecoder(const json& object, const std::string& path);

const absl::flat_hash_map<std::string, Factory<Decoder>>& DecoderTable() {
  static const auto* const table =
      new absl::flat_hash_map<std::string, Factory<Decoder>>{
          {"WordPiece",
           [](const json& o, const std::string& path) -> Parsed<Decoder> {
             std::string prefix = "##";
             bool cleanup = true;
             RETURN_IF_ERROR(jf::String(o, path, "prefix", &prefix));
             RETURN_IF_ERROR(jf::Bool(o, path, "cleanup", &cleanup));
             return std::make_unique<WordPieceDecoder>(prefix, cleanup);
           }},
          {"ByteLevel",
           [](const json&, const std::string&) -> Parsed<Decoder> {
             return std::make_unique<ByteLevelDecoder>();
           }},
          {"Metaspace",
           [](const json& o, const std::string& path) -> Parsed<Decoder> {
             absl::StatusOr<char32_t> replacement =
                 ParseChar(o, path, "replacement", U'\u2581');
             if (!replacement.ok()) return replacement.status();
             absl::StatusOr<PrependScheme> scheme = ParsePrependScheme(o, path);
             if (!scheme.ok()) return scheme.status();
             return std::make_unique<MetaspaceDecoder>(*replacement, *scheme);
           }},
          {"ByteFallback",
           [](const json&, const std::string&) -> Parsed<Decoder> {
             return std::make_unique<ByteFallbackDecoder>();
           }},
          {"Fuse",
           [](const json&, const std::string&) -> Parsed<Decoder> {
             return std::make_unique<FuseDecoder>();
           }},
          {"Strip",
           [](const json& o, const std::string& path) -> Parsed<Decoder> {
             absl::StatusOr<char32_t> content =
                 ParseChar(o, path, "content", U' ');
             if (!content.ok()) return content.status();
             int64_t start = 0, stop = 0;
             RETURN_IF_ERROR(jf::Int(o, path, "start", &start));
             RETURN_IF_ERROR(jf::Int(o, path, "stop", &stop));
             if (start < 0 || stop < 0) {
               return jf::Error(path, "start and stop must be >= 0");
             }
             return std::make_unique<StripDecoder>(*content,
                                                   static_cast<size_t>(start),
                                                   static_cast<size_t>(stop));
           }},
          {"Replace",
           [](const json& o, const std::string& path) -> Parsed<Decoder> {
             absl::StatusOr<std::shared_ptr<const Regex>> pattern =
                 ParsePattern(o, path);
             if (!pattern.ok()) return pattern.status();
             absl::StatusOr<std::string> content =
                 jf::RequiredString(o, path, "content");
             if (!content.ok()) return content.status();
             return std::make_unique<ReplaceDecoder>(*std::move(pattern),
                                                     *std::move(content));
           }},
          {"BPEDecoder",
           [](const json& o, const std::string& path) -> Parsed<Decoder> {
             std::string suffix = "</w>";
             RETURN_IF_ERROR(jf::String(o, path, "suffix", &suffix));
             return std::make_unique<BpeDecoder>(suffix);
           }},
          {"Sequence",
           [](const json& o, const std::string& path) -> Parsed<Decoder> {
             absl::StatusOr<const json*> list =
                 RequiredArray(o, path, "decoders");
             if (!list.ok()) return list.status();
             std::vector<std::unique_ptr<const Decoder>> items;
             for (size_t i = 0; i < (*list)->size(); ++i) {
               Parsed<Decoder> d = ParseDecoder(
                   (**list)[i], jf::Element(jf::Child(path, "decoders"), i));
               if (!d.ok()) return d.status();
               items.push_back(*std::move(d));
             }
             return std::make_unique<SequenceDecoder>(std::move(items));
           }},
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
    absl::StatusOr<std::string> content =
        jf::RequiredString(t, path, "content");
    if (!content.ok()) return content.status();
    token.content = *std::move(content);
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

absl::Status InFile(const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("tokenizer.json: ", status.message()));
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
  auto section = [&](const char* key) -> const json* {
    auto it = root.find(key);
    return it == root.end() || it->is_null() ? nullptr : &*it;
  };
  if (const json* n = section("normalizer")) {
    Parsed<Normalizer> normalizer = ParseNormalizer(*n, "normalizer");
    if (!normalizer.ok()) return InFile(normalizer.status());
    parts.normalizer = *std::move(normalizer);
  }
  if (const json* p = section("pre_tokenizer")) {
    Parsed<PreTokenizer> pre = ParsePreTokenizer(*p, "pre_tokenizer");
    if (!pre.ok()) return InFile(pre.status());
    parts.pre_tokenizer = *std::move(pre);
  }
  const json* model = section("model");
  if (model == nullptr) {
    return absl::InvalidArgumentError("tokenizer.json: model is missing");
  }
  Parsed<Model> parsed_model = ParseComponent(*model, "model", ModelTable());
  if (!parsed_model.ok()) return InFile(parsed_model.status());
  parts.model = *std::move(parsed_model);
  if (const json* p = section("post_processor")) {
    Parsed<PostProcessor> post = ParsePostProcessor(*p, "post_processor");
    if (!post.ok()) return InFile(post.status());
    parts.post_processor = *std::move(post);
  }
  if (const json* d = section("decoder")) {
    Parsed<Decoder> decoder = ParseDecoder(*d, "decoder");
    if (!decoder.ok()) return InFile(decoder.status());
    parts.decoder = *std::move(decoder);
  }
  absl::StatusOr<std::vector<AddedToken>> added = ParseAddedTokens(root);
  if (!added.ok()) return InFile(added.status());
  // HF gives an added token the model's id when the model has its content.
  for (AddedToken& token : *added) {
    if (std::optional<int32_t> id = parts.model->TokenToId(token.content)) {
      token.id = *id;
    }
  }
  parts.added_tokens = *std::move(added);
  return std::make_unique<Tokenizer>(std::move(parts));
}

}  // namespace attnserve::core::tokenizers
