// The tokenizer.json loader: the component table, errors that name the JSON
// path, and the Tokenizer's own rules (invalid UTF-8, truncation limits,
// added-token ids, decode options).
#include "core/tokenizer/tokenizer_json.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json BertJson() {
  return json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 0, "content": "[PAD]", "special": true, "normalized": false,
       "single_word": false, "lstrip": false, "rstrip": false},
      {"id": 1, "content": "[UNK]", "special": true, "normalized": false,
       "single_word": false, "lstrip": false, "rstrip": false},
      {"id": 2, "content": "[CLS]", "special": true, "normalized": false,
       "single_word": false, "lstrip": false, "rstrip": false},
      {"id": 3, "content": "[SEP]", "special": true, "normalized": false,
       "single_word": false, "lstrip": false, "rstrip": false},
      {"id": 99, "content": "[MASK]", "special": true, "normalized": false,
       "single_word": false, "lstrip": false, "rstrip": false}],
    "normalizer": {"type": "BertNormalizer", "clean_text": true,
                   "handle_chinese_chars": true, "strip_accents": null,
                   "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3],
                       "cls": ["[CLS]", 2]},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
    "model": {"type": "WordPiece", "unk_token": "[UNK]",
              "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3,
                        "[MASK]": 4, "hello": 5, "world": 6, "##s": 7, ",": 8,
                        ".": 9, "οδοσ": 10, "a": 11, "b": 12}}
  })");
}

std::unique_ptr<Tokenizer> Parse(const json& j) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      ParseTokenizerJson(j.dump());
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

std::string ErrorOf(const json& j) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      ParseTokenizerJson(j.dump());
  EXPECT_FALSE(tokenizer.ok());
  if (tokenizer.ok()) return "";
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(tokenizer.status().message());
}

TEST(TokenizerJsonTest, UnsupportedComponentsNameTheirJsonPath) {
  json j = BertJson();
  j["normalizer"] = json::parse(R"({"type": "Sequence", "normalizers": [
      {"type": "NFD"}, {"type": "Lowercase"}, {"type": "Precompiledx"}]})");
  EXPECT_EQ(ErrorOf(j),
            "tokenizer.json: normalizer.normalizers[2].type = \"Precompiledx\" "
            "is not supported");
  j = BertJson();
  j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Whitespace"}, {"type": "UnicodeScripts"}]})");
  EXPECT_EQ(ErrorOf(j),
            "tokenizer.json: pre_tokenizer.pretokenizers[1].type = "
            "\"UnicodeScripts\" is not supported");
  j = BertJson();
  j["model"]["type"] = "WordLevel";
  EXPECT_EQ(ErrorOf(j),
            "tokenizer.json: model.type = \"WordLevel\" is not supported");
  j = BertJson();
  j["decoder"] = json::parse(R"({"type": "CTC"})");
  EXPECT_EQ(ErrorOf(j),
            "tokenizer.json: decoder.type = \"CTC\" is not supported");
  j = BertJson();
  j["post_processor"] = json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel"}, {"type": "Mystery"}]})");
  EXPECT_EQ(
      ErrorOf(j),
      "tokenizer.json: post_processor.processors[1].type = \"Mystery\" is "
      "not supported");
}

TEST(TokenizerJsonTest, BadFieldsNameTheirJsonPath) {
  struct Case {
    std::string pointer;
    json value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"/normalizer/lowercase", "yes",
       "normalizer.lowercase is \"yes\", expected a boolean"},
      {"/pre_tokenizer", json::parse(R"({"type": "Split", "pattern":
          {"Regex": "(unclosed"}, "behavior": "Isolated", "invert": false})"),
       "pre_tokenizer.pattern invalid regex"},
      {"/pre_tokenizer", json::parse(R"({"type": "Split", "pattern":
          {"Regex": "a"}, "behavior": "Sideways", "invert": false})"),
       "pre_tokenizer.behavior = \"Sideways\" is not supported"},
      {"/pre_tokenizer", json::parse(R"({"type": "Metaspace",
          "replacement": "ab", "prepend_scheme": "always"})"),
       "pre_tokenizer.replacement is \"ab\", expected one character"},
      {"/pre_tokenizer", json::parse(R"({"type": "Metaspace",
          "replacement": "_", "prepend_scheme": "sometimes"})"),
       "pre_tokenizer.prepend_scheme = \"sometimes\" is not supported"},
      {"/normalizer", json::parse(R"({"type": "Precompiled",
          "precompiled_charsmap": "AAAAAA=="})"),
       "normalizer.precompiled_charsmap has a trie size of 0"},
      {"/normalizer", json::parse(R"({"type": "Precompiled",
          "precompiled_charsmap": "!!"})"),
       "normalizer.precompiled_charsmap is not valid base64"},
      {"/post_processor/sep", json::parse(R"(["[SEP]"])"),
       "post_processor.sep is an array, expected [token, id]"},
      {"/post_processor", json::parse(R"({"type": "TemplateProcessing",
          "single": [{"SpecialToken": {"id": "<x>", "type_id": 0}}],
          "pair": [], "special_tokens": {}})"),
       "post_processor.special_tokens has no entry for \"<x>\""},
      {"/post_processor", json::parse(R"({"type": "TemplateProcessing",
          "single": [{"Sequence": {"id": "C", "type_id": 0}}],
          "pair": [], "special_tokens": {}})"),
       "post_processor.single[0].Sequence.id = \"C\", expected \"A\" or \"B\""},
      {"/model/vocab/hello", -4, "model.vocab.hello is -4, expected an id in"},
      {"/model/unk_token", "<nope>",
       "model.unk_token \"<nope>\" is not in the vocabulary"},
      {"/model/vocab", json::array(),
       "model.vocab is an array, expected an object"},
      {"/added_tokens/1/id", "x",
       "added_tokens[1].id is \"x\", expected an integer"},
      {"/added_tokens/2", json::object(), "added_tokens[2].content is missing"},
      {"/decoder/start", 1.5, "decoder.start is 1.5, expected an integer"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.pointer);
    json j = BertJson();
    if (c.pointer == "/decoder/start") {
      j["decoder"] =
          json::parse(R"({"type": "Strip", "content": " ", "stop": 0})");
    }
    j[json::json_pointer(c.pointer)] = c.value;
    EXPECT_THAT(ErrorOf(j), HasSubstr("tokenizer.json: " + c.message));
  }
  EXPECT_EQ(ErrorOf(json::array()),
            "tokenizer.json: top level is not a JSON object");
  json no_model = BertJson();
  no_model.erase("model");
  EXPECT_EQ(ErrorOf(no_model), "tokenizer.json: model is missing");
  absl::StatusOr<std::unique_ptr<Tokenizer>> not_json = ParseTokenizerJson("{");
  EXPECT_EQ(not_json.status().message(), "tokenizer.json: not valid JSON");
}

TEST(TokenizerJsonTest, AddedTokensTakeTheModelsIdAndSettingsApply) {
  TokenizerSettings settings;
  settings.model_max_length = 512;
  settings.clean_up_tokenization_spaces = true;
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      ParseTokenizerJson(BertJson().dump(), settings);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  // "[MASK]" says id 99 but the vocabulary has it at 4: HF uses 4.
  EXPECT_EQ((*tokenizer)->TokenToId("[MASK]"), 4);
  EXPECT_EQ((*tokenizer)->IdToToken(4), "[MASK]");
  EXPECT_TRUE((*tokenizer)->IsSpecialId(4));
  EXPECT_FALSE((*tokenizer)->IsSpecialId(5));
  EXPECT_EQ((*tokenizer)->VocabSize(), 13u);
  EXPECT_EQ((*tokenizer)->model_max_length(), 512);
  EXPECT_TRUE((*tokenizer)->clean_up_tokenization_spaces());
  EXPECT_EQ((*tokenizer)->model_type(), "WordPiece");
}

TEST(TokenizerTest, RustLowercasesEachCharacterOnItsOwn) {
  std::unique_ptr<Tokenizer> tokenizer = Parse(BertJson());
  ASSERT_NE(tokenizer, nullptr);
  absl::StatusOr<Encoding> e = tokenizer->Encode("ΟΔΟΣ", {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->ids, (std::vector<int32_t>{2, 10, 3}));
  EXPECT_EQ(e->offsets[1], (Offsets{0, 8}));
}

TEST(TokenizerTest, InvalidUtf8NamesTheByteOffset) {
  std::unique_ptr<Tokenizer> tokenizer = Parse(BertJson());
  ASSERT_NE(tokenizer, nullptr);
  absl::StatusOr<Encoding> e = tokenizer->Encode("hello \xC3(", {});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "invalid UTF-8 at byte offset 6");
  e = tokenizer->EncodePair("hello", "wor\xFFld", {});
  EXPECT_EQ(e.status().message(), "invalid UTF-8 at byte offset 3");
}

TEST(TokenizerTest, TruncationKeepsTheSpecialTokensAndCountsTheFullLength) {
  std::unique_ptr<Tokenizer> tokenizer = Parse(BertJson());
  ASSERT_NE(tokenizer, nullptr);
  EncodeOptions options;
  options.max_length = 4;
  absl::StatusOr<Encoding> e =
      tokenizer->Encode("hello world hello world", options);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->ids, (std::vector<int32_t>{2, 5, 6, 3}));
  EXPECT_EQ(e->untruncated_length, 6u);
  // Pair: 3 specials; 2 tokens left, one from each text.
  options.max_length = 5;
  e = tokenizer->EncodePair("hello world hello", "a b", options);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->ids, (std::vector<int32_t>{2, 5, 3, 11, 3}));
  EXPECT_EQ(e->type_ids, (std::vector<uint32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(e->sequence_ids, (std::vector<int8_t>{-1, 0, -1, 1, -1}));
  EXPECT_EQ(e->untruncated_length, 8u);
  options.max_length = 2;
  e = tokenizer->EncodePair("hello", "a", options);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("max_length is 2"));
}

TEST(TokenizerTest, DecodeSkipsSpecialsAndCleansUpOnRequest) {
  std::unique_ptr<Tokenizer> tokenizer = Parse(BertJson());
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<int32_t> ids = {2, 5, 7, 8, 6, 9, 4, 3, 1000};
  EXPECT_EQ(tokenizer->Decode(ids, {}), "[CLS] hellos, world. [MASK] [SEP]");
  DecodeOptions options;
  options.skip_special_tokens = true;
  EXPECT_EQ(tokenizer->Decode(ids, options), "hellos, world.");
  json no_decoder = BertJson();
  no_decoder["decoder"] = nullptr;
  std::unique_ptr<Tokenizer> plain = Parse(no_decoder);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->Decode({5, 8, 6, 9}, {}), "hello , world .");
  options.skip_special_tokens = false;
  options.clean_up_tokenization_spaces = true;
  EXPECT_EQ(plain->Decode({5, 8, 6, 9}, options), "hello, world.");
}

}  // namespace
}  // namespace attnserve::core::tokenizers
