// Unit tests for each BERT tokenizer rule and each parser error. Golden
// comparisons with transformers.js / HF tokenizers are in
// tokenizer_golden_test.cc.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/models/demo/demo_model.h"
#include "core/tokenizer/load_bert_tokenizer.h"
#include "core/tokenizer/tokenizer_files.h"
#include "core/tokenizer/wordpiece_tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "utf8proc.h"

namespace attnserve::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A small vocabulary; ids are the positions.
std::vector<std::string> TestVocab() {
  return {"[PAD]",  "[UNK]", "[CLS]",  "[SEP]", "[MASK]", "the", "un",  "##aff",
          "##able", "run",   "##ning", "##n",   "a",      "##b", "b",   ",",
          "!",      "cafe",  "中",     "文",    "e",      "##e", "x",   "##x",
          "ı",      "i",     "σ",      "ς",     "ο",      "##δ", "##ο", "##ς",
          "##σ",    "οδος",  "οδοσ",   "é",     "##é",    "c",   "##a", "##f"};
}

WordPieceTokenizer MakeTokenizer(BertTokenizerSpec spec) {
  absl::StatusOr<WordPieceTokenizer> tokenizer =
      WordPieceTokenizer::Create(std::move(spec));
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return *std::move(tokenizer);
}

BertTokenizerSpec UncasedSpec() {
  TokenizerConfigJson config;
  absl::StatusOr<BertTokenizerSpec> spec =
      MakeSpecFromVocab(TestVocab(), config);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

std::vector<std::string> Pieces(const WordPieceTokenizer& tokenizer,
                                absl::string_view text,
                                bool add_special_tokens = false) {
  TokenizeOptions options;
  options.add_special_tokens = add_special_tokens;
  absl::StatusOr<Tokenization> result = tokenizer.Tokenize(text, options);
  EXPECT_TRUE(result.ok()) << result.status();
  std::vector<std::string> pieces;
  if (!result.ok()) return pieces;
  for (const Token& token : result->tokens) pieces.push_back(token.text);
  return pieces;
}

std::vector<std::pair<uint32_t, uint32_t>> Offsets(
    const WordPieceTokenizer& tokenizer, absl::string_view text) {
  TokenizeOptions options;
  options.add_special_tokens = false;
  absl::StatusOr<Tokenization> result = tokenizer.Tokenize(text, options);
  EXPECT_TRUE(result.ok()) << result.status();
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  if (!result.ok()) return offsets;
  for (const Token& token : result->tokens)
    offsets.emplace_back(token.start, token.end);
  return offsets;
}

// ---------------------------------------------------------------- vocab.txt

TEST(ParseVocabTxtTest, OneTokenPerLineIdIsLineNumber) {
  auto vocab = ParseVocabTxt("[PAD]\n[UNK]\nthe\n");
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_THAT(*vocab, ElementsAre("[PAD]", "[UNK]", "the"));
}

TEST(ParseVocabTxtTest, CrlfAndMissingFinalNewline) {
  auto vocab = ParseVocabTxt("[PAD]\r\n[UNK]\r\nthe");
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_THAT(*vocab, ElementsAre("[PAD]", "[UNK]", "the"));
}

TEST(ParseVocabTxtTest, EmptyLineKeepsItsId) {
  auto vocab = ParseVocabTxt("a\n\nb\n");
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_THAT(*vocab, ElementsAre("a", "", "b"));
}

TEST(ParseVocabTxtTest, EmptyFileIsAnError) {
  auto vocab = ParseVocabTxt("");
  EXPECT_EQ(vocab.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(vocab.status().message(), HasSubstr("vocab.txt: file is empty"));
}

TEST(ParseVocabTxtTest, InvalidUtf8NamesTheOffset) {
  auto vocab = ParseVocabTxt("ok\n\xff\n");
  EXPECT_EQ(vocab.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(vocab.status().message(),
              HasSubstr("vocab.txt: invalid UTF-8 at byte offset 3"));
}

TEST(ParseVocabTxtTest, DuplicateTokenMapsToItsLastIdLikeHuggingFace) {
  auto vocab = ParseVocabTxt("[PAD]\n[UNK]\n[CLS]\n[SEP]\ndup\nx\ndup\n");
  ASSERT_TRUE(vocab.ok());
  auto spec = MakeSpecFromVocab(*vocab, {});
  ASSERT_TRUE(spec.ok()) << spec.status();
  WordPieceTokenizer tokenizer = MakeTokenizer(*spec);
  EXPECT_EQ(tokenizer.TokenToId("dup"), 6);
  EXPECT_EQ(tokenizer.IdToToken(4), "dup");
  EXPECT_EQ(tokenizer.vocab_size(), 7u);
}

// ---------------------------------------------------- tokenizer_config.json

TEST(ParseTokenizerConfigJsonTest, Defaults) {
  auto config = ParseTokenizerConfigJson("{}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->do_lower_case);
  EXPECT_FALSE(config->strip_accents.has_value());
  EXPECT_TRUE(config->tokenize_chinese_chars);
  EXPECT_EQ(config->model_max_length, 0);
}

TEST(ParseTokenizerConfigJsonTest, ReadsOptionsAndTokenNames) {
  auto config = ParseTokenizerConfigJson(R"({
    "do_lower_case": false, "strip_accents": null,
    "tokenize_chinese_chars": false, "model_max_length": 512,
    "unk_token": "<unk>", "cls_token": {"content": "<s>", "lstrip": false},
    "additional_special_tokens": ["<extra>"]})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->do_lower_case);
  EXPECT_FALSE(config->strip_accents.has_value());
  EXPECT_FALSE(config->tokenize_chinese_chars);
  EXPECT_EQ(config->model_max_length, 512);
  EXPECT_EQ(config->unk_token, "<unk>");
  EXPECT_EQ(config->cls_token, "<s>");
  EXPECT_THAT(config->additional_special_tokens, ElementsAre("<extra>"));
}

TEST(ParseTokenizerConfigJsonTest, HuggingFaceHugeSentinelMeansUnset) {
  auto config = ParseTokenizerConfigJson(
      R"({"model_max_length": 1000000000000000019884624838656})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model_max_length, 0);
}

TEST(ParseTokenizerConfigJsonTest, ErrorsNameFileAndKey) {
  auto not_json = ParseTokenizerConfigJson("{");
  EXPECT_THAT(not_json.status().message(),
              HasSubstr("tokenizer_config.json: not valid JSON"));
  auto bad_bool = ParseTokenizerConfigJson(R"({"do_lower_case": "yes"})");
  EXPECT_EQ(bad_bool.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_bool.status().message(),
              HasSubstr("tokenizer_config.json: do_lower_case is string, "
                        "expected a boolean"));
  auto bad_length = ParseTokenizerConfigJson(R"({"model_max_length": -3})");
  EXPECT_THAT(bad_length.status().message(),
              HasSubstr("tokenizer_config.json: model_max_length is -3"));
  auto bad_token = ParseTokenizerConfigJson(R"({"unk_token": 7})");
  EXPECT_THAT(bad_token.status().message(),
              HasSubstr("tokenizer_config.json: unk_token is number"));
  auto not_object = ParseTokenizerConfigJson("[1]");
  EXPECT_THAT(
      not_object.status().message(),
      HasSubstr("tokenizer_config.json: top level is not a JSON object"));
}

TEST(ParseSpecialTokensMapJsonTest, OverridesNames) {
  TokenizerConfigJson config;
  ASSERT_TRUE(
      ParseSpecialTokensMapJson(
          R"({"mask_token": {"content": "<mask>"}, "sep_token": "</s>"})",
          &config)
          .ok());
  EXPECT_EQ(config.mask_token, "<mask>");
  EXPECT_EQ(config.sep_token, "</s>");
  absl::Status bad = ParseSpecialTokensMapJson(R"({"pad_token": []})", &config);
  EXPECT_THAT(bad.message(), HasSubstr("special_tokens_map.json: pad_token"));
}

TEST(MakeSpecFromVocabTest, MissingClsIsAnError) {
  auto spec = MakeSpecFromVocab({"[UNK]", "[SEP]"}, {});
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(),
              HasSubstr("vocab.txt: has no entry for the cls_token \"[CLS]\""));
}

TEST(WordPieceTokenizerCreateTest, MissingUnkIsAnError) {
  BertTokenizerSpec spec;
  spec.vocab = {"a", "b"};
  auto tokenizer = WordPieceTokenizer::Create(spec);
  EXPECT_THAT(tokenizer.status().message(),
              HasSubstr("unk_token \"[UNK]\" is not in the vocabulary"));
}

TEST(WordPieceTokenizerCreateTest, EmptyAddedTokenIsAnError) {
  BertTokenizerSpec spec = UncasedSpec();
  spec.added_tokens.push_back({"", 3, true});
  EXPECT_THAT(WordPieceTokenizer::Create(spec).status().message(),
              HasSubstr("added token with id 3 is empty"));
}

// ----------------------------------------------------------- tokenizer.json

std::string TokenizerJson(const std::string& model_type,
                          const std::string& normalizer,
                          const std::string& pre_tokenizer,
                          const std::string& post_processor) {
  return R"({"version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 4, "content": "[MASK]", "single_word": false,
      "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
    "normalizer": )" +
         normalizer + R"(, "pre_tokenizer": )" + pre_tokenizer +
         R"(, "post_processor": )" + post_processor + R"(,
    "model": {"type": ")" +
         model_type + R"(", "unk_token": "[UNK]",
      "continuing_subword_prefix": "##", "max_input_chars_per_word": 5,
      "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4,
                "hello": 5, "##o": 6, "hell": 7, "e": 8}}})";
}

const char kBertNormalizer[] =
    R"({"type": "BertNormalizer", "clean_text": true,
        "handle_chinese_chars": true, "strip_accents": null,
        "lowercase": true})";
const char kBertPreTokenizer[] = R"({"type": "BertPreTokenizer"})";
const char kTemplate[] = R"({"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
               {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [],
    "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                       "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}})";

TEST(ParseTokenizerJsonTest, ReadsWordPieceBertTokenizer) {
  auto spec = ParseTokenizerJson(TokenizerJson("WordPiece", kBertNormalizer,
                                               kBertPreTokenizer, kTemplate));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->vocab.size(), 9u);
  EXPECT_EQ(spec->vocab[5], "hello");
  EXPECT_EQ(spec->max_input_chars_per_word, 5);
  EXPECT_TRUE(spec->lowercase);
  EXPECT_FALSE(spec->strip_accents.has_value());
  ASSERT_EQ(spec->prefix.size(), 1u);
  EXPECT_EQ(spec->prefix[0].id, 2);
  ASSERT_EQ(spec->suffix.size(), 1u);
  EXPECT_EQ(spec->suffix[0].id, 3);
  ASSERT_EQ(spec->added_tokens.size(), 1u);
  EXPECT_EQ(spec->added_tokens[0].content, "[MASK]");

  WordPieceTokenizer tokenizer = MakeTokenizer(*spec);
  EXPECT_THAT(
      Pieces(tokenizer, "HELLO hellO [MASK] helloo", true),
      ElementsAre("[CLS]", "hello", "hello", "[MASK]", "[UNK]", "[SEP]"));
}

TEST(ParseTokenizerJsonTest, BertProcessingAndSequenceNormalizer) {
  auto spec = ParseTokenizerJson(TokenizerJson(
      "WordPiece",
      R"({"type": "Sequence", "normalizers": [{"type": "NFD"},
          {"type": "Lowercase"}, {"type": "StripAccents"}]})",
      R"({"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}]})",
      R"({"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]})"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->lowercase);
  EXPECT_EQ(spec->strip_accents, true);
  EXPECT_FALSE(spec->clean_text);
  EXPECT_FALSE(spec->handle_chinese_chars);
  EXPECT_EQ(spec->cls_token, "[CLS]");
  WordPieceTokenizer tokenizer = MakeTokenizer(*spec);
  EXPECT_THAT(Pieces(tokenizer, "HÉLLO", true),
              ElementsAre("[CLS]", "hello", "[SEP]"));
}

TEST(ParseTokenizerJsonTest, NullPostProcessorAddsNothing) {
  auto spec = ParseTokenizerJson(
      TokenizerJson("WordPiece", kBertNormalizer, kBertPreTokenizer, "null"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  WordPieceTokenizer tokenizer = MakeTokenizer(*spec);
  EXPECT_THAT(Pieces(tokenizer, "hello", true), ElementsAre("hello"));
}

TEST(ParseTokenizerJsonTest, ErrorsNameFileAndKey) {
  struct Case {
    std::string json;
    std::string message;
  };
  const std::vector<Case> cases = {
      {TokenizerJson("BPE", kBertNormalizer, kBertPreTokenizer, kTemplate),
       "tokenizer.json: model.type is \"BPE\", expected \"WordPiece\""},
      {TokenizerJson("WordPiece", R"({"type": "NFKC"})", kBertPreTokenizer,
                     kTemplate),
       "tokenizer.json: normalizer.type is \"NFKC\", expected "
       "\"BertNormalizer\""},
      {TokenizerJson(
           "WordPiece",
           R"({"type": "Sequence", "normalizers": [{"type": "NFC"}]})",
           kBertPreTokenizer, kTemplate),
       "tokenizer.json: normalizer.normalizers[0].type is \"NFC\""},
      {TokenizerJson("WordPiece",
                     R"({"type": "BertNormalizer", "lowercase": 1})",
                     kBertPreTokenizer, kTemplate),
       "tokenizer.json: normalizer.lowercase is number, expected a boolean"},
      {TokenizerJson("WordPiece", kBertNormalizer, R"({"type": "Whitespace"})",
                     kTemplate),
       "tokenizer.json: pre_tokenizer.type is \"Whitespace\", expected "
       "\"BertPreTokenizer\""},
      {TokenizerJson("WordPiece", kBertNormalizer, kBertPreTokenizer,
                     R"({"type": "RobertaProcessing"})"),
       "tokenizer.json: post_processor.type is \"RobertaProcessing\""},
      {TokenizerJson("WordPiece", kBertNormalizer, kBertPreTokenizer,
                     R"({"type": "TemplateProcessing", "single": [
                         {"SpecialToken": {"id": "<s>", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}}],
                         "special_tokens": {}})"),
       "tokenizer.json: post_processor.special_tokens has no entry \"<s>\""},
      {"[]", "tokenizer.json: top level is not a JSON object"},
      {"{", "tokenizer.json: not valid JSON"},
      {R"({"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 5}}})",
       "tokenizer.json: model.vocab[\"b\"] is 5, expected an integer id in "
       "[0, 2)"},
      {R"({"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 0}}})",
       "tokenizer.json: model.vocab has id 0 for both \"a\" and \"b\""},
      {R"({"model": {"type": "WordPiece", "vocab": {}}})",
       "tokenizer.json: model.vocab is missing or empty"},
      {R"({"model": {"type": "WordPiece", "vocab": {"a": 0},
           "max_input_chars_per_word": 0}})",
       "tokenizer.json: model.max_input_chars_per_word is 0"},
  };
  for (const Case& c : cases) {
    auto spec = ParseTokenizerJson(c.json);
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message;
    EXPECT_THAT(spec.status().message(), HasSubstr(c.message));
  }
}

// ---------------------------------------------------------- tokenizer rules

TEST(WordPieceTokenizerTest, GreedyLongestMatchFirstWithPrefix) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  EXPECT_THAT(Pieces(tokenizer, "unaffable running"),
              ElementsAre("un", "##aff", "##able", "run", "##ning"));
  EXPECT_THAT(
      Offsets(tokenizer, "unaffable running"),
      ElementsAre(std::pair(0u, 2u), std::pair(2u, 5u), std::pair(5u, 9u),
                  std::pair(10u, 13u), std::pair(13u, 17u)));
}

TEST(WordPieceTokenizerTest, WordWithoutMatchIsOneUnk) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  // "runz": "run" matches but "##z" does not -> the whole word is [UNK].
  EXPECT_THAT(Pieces(tokenizer, "runz the"), ElementsAre("[UNK]", "the"));
  EXPECT_THAT(Offsets(tokenizer, "runz the"),
              ElementsAre(std::pair(0u, 4u), std::pair(5u, 8u)));
}

TEST(WordPieceTokenizerTest, WordsLongerThanMaxCharsAreUnk) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  const std::string hundred = "a" + std::string(99, 'b');
  EXPECT_EQ(Pieces(tokenizer, hundred).size(), 100u);
  // Counted in characters, not bytes: 101 two-byte "é" are 101 chars.
  std::string long_word;
  for (int i = 0; i < 101; ++i) long_word += "\xC3\xA9";
  EXPECT_THAT(Pieces(tokenizer, hundred + "b"), ElementsAre("[UNK]"));
  EXPECT_THAT(Pieces(tokenizer, long_word), ElementsAre("[UNK]"));
  std::string fifty;
  for (int i = 0; i < 50; ++i) fifty += "\xC3\xA9";  // 100 bytes, 50 chars
  EXPECT_EQ(Pieces(tokenizer, fifty).size(), 50u);
}

TEST(WordPieceTokenizerTest, PunctuationSplitsIncludingAsciiSymbols) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  EXPECT_THAT(Pieces(tokenizer, "a,b!"), ElementsAre("a", ",", "b", "!"));
  // '$' and '^' are not Unicode P* but BERT counts ASCII symbols.
  EXPECT_THAT(Pieces(tokenizer, "a$b^"),
              ElementsAre("a", "[UNK]", "b", "[UNK]"));
  // U+2014 EM DASH is Pd.
  EXPECT_THAT(Pieces(tokenizer,
                     "a\xE2\x80\x94"
                     "b"),
              ElementsAre("a", "[UNK]", "b"));
}

TEST(WordPieceTokenizerTest, CleansControlCharactersAndWhitespace) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  constexpr char kText[] =
      "a\0b\x01x\xEF\xBF\xBD\xE2\x80\x8B"
      "x\tthe\xC2\xA0the\xE3\x80\x80the";
  const std::string text(kText, sizeof(kText) - 1);
  ASSERT_EQ(text.size(), 27u);
  EXPECT_THAT(Pieces(tokenizer, text),
              ElementsAre("a", "##b", "##x", "##x", "the", "the", "the"));
  // U+FFFD at 5..8 and U+200B at 8..11 are dropped; the second x is 11..12.
  EXPECT_THAT(Offsets(tokenizer, text)[3], std::pair(11u, 12u));
}

TEST(WordPieceTokenizerTest, ChineseCharactersAreSingleTokens) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  EXPECT_THAT(Pieces(tokenizer, "a中文b"), ElementsAre("a", "中", "文", "b"));
  EXPECT_THAT(Offsets(tokenizer, "a中文b"),
              ElementsAre(std::pair(0u, 1u), std::pair(1u, 4u),
                          std::pair(4u, 7u), std::pair(7u, 8u)));
  // CJK Extension B (U+20000) is in HF's ranges too.
  EXPECT_THAT(Pieces(tokenizer,
                     "a\xF0\xA0\x80\x80"
                     "b"),
              ElementsAre("a", "[UNK]", "b"));
  BertTokenizerSpec spec = UncasedSpec();
  spec.handle_chinese_chars = false;
  EXPECT_THAT(Pieces(MakeTokenizer(spec), "a中文b"), ElementsAre("[UNK]"));
}

TEST(WordPieceTokenizerTest, LowercaseAndStripAccentsMapBackToOriginalBytes) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  // "CAFÉ" (precomposed) and "cafe" + U+0301 (decomposed). A dropped mark
  // of its own is not part of the span (as in HF tokenizers); a mark inside
  // a precomposed character is.
  EXPECT_THAT(Pieces(tokenizer, "CAF\xC3\x89 cafe\xCC\x81"),
              ElementsAre("cafe", "cafe"));
  EXPECT_THAT(Offsets(tokenizer, "CAF\xC3\x89 cafe\xCC\x81"),
              ElementsAre(std::pair(0u, 5u), std::pair(6u, 10u)));
  // Pieces inside a word: "caf" + "##e" from "CAFÉ" when "cafe" is absent.
  BertTokenizerSpec spec = UncasedSpec();
  spec.vocab[17] = "caf";
  WordPieceTokenizer split = MakeTokenizer(spec);
  EXPECT_THAT(Pieces(split, "CAF\xC3\x89"), ElementsAre("caf", "##e"));
  EXPECT_THAT(Offsets(split, "CAF\xC3\x89"),
              ElementsAre(std::pair(0u, 3u), std::pair(3u, 5u)));
}

TEST(WordPieceTokenizerTest, StripAccentsFollowsOptions) {
  BertTokenizerSpec keep = UncasedSpec();
  keep.strip_accents = false;
  EXPECT_THAT(Pieces(MakeTokenizer(keep), "\xC3\x89"), ElementsAre("é"));
  BertTokenizerSpec cased = UncasedSpec();
  cased.lowercase = false;  // strip_accents unset: follows lowercase
  EXPECT_THAT(Pieces(MakeTokenizer(cased), "\xC3\xA9 E"),
              ElementsAre("é", "[UNK]"));
  cased.strip_accents = true;
  EXPECT_THAT(Pieces(MakeTokenizer(cased), "\xC3\xA9"), ElementsAre("e"));
}

TEST(WordPieceTokenizerTest, FullLowercaseSpecialCases) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  // İ lowercases to i + U+0307, whose mark accent stripping removes.
  EXPECT_THAT(Pieces(tokenizer, "\xC4\xB0"), ElementsAre("i"));
  EXPECT_THAT(Offsets(tokenizer, "\xC4\xB0"), ElementsAre(std::pair(0u, 2u)));
  // Final sigma: word-final Σ -> ς, elsewhere σ (JS toLowerCase, Python
  // str.lower).
  EXPECT_THAT(Pieces(tokenizer, "ΟΔΟΣ Σ ΟΔΟΣ."),
              ElementsAre("οδος", "σ", "οδος", "[UNK]"));
  EXPECT_THAT(Pieces(tokenizer, "ΟΣΟ"), ElementsAre("ο", "##σ", "##ο"));
}

TEST(WordPieceTokenizerTest, AddedTokensMatchLiterallyBeforeNormalization) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  EXPECT_THAT(Pieces(tokenizer, "the[MASK]the [mask]"),
              ElementsAre("the", "[MASK]", "the", "[UNK]", "[UNK]", "[UNK]"));
  TokenizeOptions options;
  options.add_special_tokens = false;
  auto result = tokenizer.Tokenize("the [MASK]", options);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->tokens.size(), 2u);
  EXPECT_EQ(result->tokens[1].id, 4);
  EXPECT_TRUE(result->tokens[1].special);
  EXPECT_EQ(result->tokens[1].start, 4u);
  EXPECT_EQ(result->tokens[1].end, 10u);
  EXPECT_FALSE(result->tokens[0].special);
}

TEST(WordPieceTokenizerTest, SpecialTokensHaveZeroOffsets) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  auto result = tokenizer.Tokenize("the", {});
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->tokens.size(), 3u);
  EXPECT_EQ(result->tokens[0].text, "[CLS]");
  EXPECT_EQ(result->tokens[0].id, tokenizer.cls_id());
  EXPECT_EQ(result->tokens[2].id, tokenizer.sep_id());
  for (int i : {0, 2}) {
    EXPECT_TRUE(result->tokens[i].special);
    EXPECT_EQ(result->tokens[i].start, 0u);
    EXPECT_EQ(result->tokens[i].end, 0u);
  }
  EXPECT_EQ(result->tokens[1].start, 0u);
  EXPECT_EQ(result->tokens[1].end, 3u);
}

TEST(WordPieceTokenizerTest, EmptyAndWhitespaceOnlyTexts) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  EXPECT_THAT(Pieces(tokenizer, "", true), ElementsAre("[CLS]", "[SEP]"));
  EXPECT_THAT(Pieces(tokenizer, " \t\n\r", true),
              ElementsAre("[CLS]", "[SEP]"));
  EXPECT_TRUE(Pieces(tokenizer, "", false).empty());
}

TEST(WordPieceTokenizerTest, InvalidUtf8IsAnErrorWithTheByteOffset) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  for (const auto& [text, offset] : std::vector<std::pair<std::string, int>>{
           {"the \xff", 4},
           {"ab\xC3", 2},                 // truncated sequence
           {"\xC0\xAF", 0},               // overlong
           {"a\xED\xA0\x80", 1},          // UTF-16 surrogate
           {"ok\xF4\x90\x80\x80", 2}}) {  // above U+10FFFF
    auto result = tokenizer.Tokenize(text, {});
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message(),
              "invalid UTF-8 at byte offset " + std::to_string(offset));
    EXPECT_EQ(tokenizer.EncodeIds(text, {}).status(), result.status());
  }
}

TEST(WordPieceTokenizerTest, TruncationKeepsSepAndReportsFullLength) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  TokenizeOptions options;
  options.max_length = 4;
  auto result = tokenizer.Tokenize("the the the the", options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->untruncated_length, 6u);
  std::vector<std::string> pieces;
  for (const Token& t : result->tokens) pieces.push_back(t.text);
  EXPECT_THAT(pieces, ElementsAre("[CLS]", "the", "the", "[SEP]"));

  options.max_length = 6;  // exactly fits: unchanged
  auto fits = tokenizer.EncodeIds("the the the the", options);
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->ids.size(), 6u);
  EXPECT_EQ(fits->untruncated_length, 6u);

  options.max_length = 1;
  EXPECT_THAT(tokenizer.EncodeIds("the the", options).status().message(),
              HasSubstr("max_length is 1, expected at least 2"));
  options.add_special_tokens = false;
  auto bare = tokenizer.EncodeIds("the the", options);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->ids, std::vector<int32_t>{5});
  EXPECT_EQ(bare->untruncated_length, 2u);
}

TEST(WordPieceTokenizerTest, ConcurrentCallsGiveTheSameResult) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  const std::string text = "Unaffable RUNNING, café 中文! the a b";
  auto expected = tokenizer.EncodeIds(text, {});
  ASSERT_TRUE(expected.ok());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto ids = tokenizer.EncodeIds(text, {});
        if (!ids.ok() || ids->ids != expected->ids) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

// ------------------------------------------------------------------- loader

class LoadBertTokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("attnserve_tokenizer_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  std::filesystem::path dir_;
};

TEST_F(LoadBertTokenizerTest, MissingFilesIsNotFound) {
  auto tokenizer = LoadBertTokenizer(dir_.string());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tokenizer.status().message(),
              HasSubstr("has neither tokenizer.json nor vocab.txt"));
}

TEST_F(LoadBertTokenizerTest, VocabRouteReadsConfigAndSpecialTokensMap) {
  Write("vocab.txt", "<pad>\n<unk>\n[CLS]\n[SEP]\nHello\n");
  Write("tokenizer_config.json",
        R"({"do_lower_case": false, "model_max_length": 128})");
  Write("special_tokens_map.json",
        R"({"unk_token": "<unk>", "pad_token": "<pad>"})");
  auto tokenizer = LoadBertTokenizer(dir_.string());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->max_length(), 128);
  EXPECT_EQ((*tokenizer)->unk_id(), 1);
  EXPECT_EQ((*tokenizer)->pad_id(), 0);
  EXPECT_THAT(Pieces(**tokenizer, "Hello hello"),
              ElementsAre("Hello", "<unk>"));
}

TEST_F(LoadBertTokenizerTest, PrefersTokenizerJsonAndNamesTheFileInErrors) {
  Write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n");
  Write("tokenizer.json",
        TokenizerJson("BPE", kBertNormalizer, kBertPreTokenizer, kTemplate));
  auto tokenizer = LoadBertTokenizer(dir_.string());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      tokenizer.status().message(),
      HasSubstr(dir_.string() + "/tokenizer.json: model.type is \"BPE\""));
  Write("tokenizer.json", TokenizerJson("WordPiece", kBertNormalizer,
                                        kBertPreTokenizer, kTemplate));
  Write("tokenizer_config.json", R"({"model_max_length": 512})");
  tokenizer = LoadBertTokenizer(dir_.string());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->vocab_size(), 9u);
  EXPECT_EQ((*tokenizer)->max_length(), 512);
}

// Files that exist but cannot be read as files are errors naming the file,
// never "missing", and never a blocking read (a FIFO has no writer).
TEST_F(LoadBertTokenizerTest, FilesThatAreNotRegularFilesAreRefused) {
  for (const char* name : {"tokenizer.json", "vocab.txt"}) {
    SCOPED_TRACE(name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::create_directory(dir_ / name);
    auto tokenizer = LoadBertTokenizer(dir_.string());
    EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokenizer.status().message(),
                HasSubstr((dir_ / name).string() + ": not a regular file"));
    std::filesystem::remove(dir_ / name);
    ASSERT_EQ(::mkfifo((dir_ / name).c_str(), 0600), 0);
    tokenizer = LoadBertTokenizer(dir_.string());
    EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokenizer.status().message(),
                HasSubstr((dir_ / name).string() + ": not a regular file"));
  }
}

TEST_F(LoadBertTokenizerTest, UnreadableVocabIsAnErrorNotMissing) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  Write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n");
  ::chmod((dir_ / "vocab.txt").c_str(), 0);
  auto tokenizer = LoadBertTokenizer(dir_.string());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokenizer.status().message(),
              HasSubstr((dir_ / "vocab.txt").string() + ": cannot open"));
}

TEST(MakeBertTokenizerTest, TokenizesWithTheDemoModelVocabulary) {
  absl::StatusOr<DemoModel> demo = MakeDemoModel();
  ASSERT_TRUE(demo.ok()) << demo.status();
  auto tokenizer = MakeBertTokenizer(demo->vocab);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->vocab_size(), demo->vocab.size());
  EXPECT_EQ((*tokenizer)->IdToToken((*tokenizer)->cls_id()), "[CLS]");
  auto ids = (*tokenizer)->EncodeIds("Hello, world!", {});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_GE(ids->ids.size(), 5u);
  for (int32_t id : ids->ids) EXPECT_NE(id, (*tokenizer)->unk_id());
}

TEST_F(LoadBertTokenizerTest, LoadsTheTinyBertTestModel) {
  auto tokenizer = LoadBertTokenizer(std::string(ATTNSERVE_SOURCE_DIR) +
                                     "/tests/golden/tiny_bert");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_GT((*tokenizer)->vocab_size(), 5u);
  EXPECT_EQ((*tokenizer)->IdToToken((*tokenizer)->cls_id()), "[CLS]");
}

}  // namespace
}  // namespace attnserve::core

namespace attnserve::core {
namespace {

// Random texts mixing ASCII, Latin-1, combining marks, Greek capitals, CJK,
// kana, Hangul, emoji, controls, whitespace and the special-token strings.
std::string RandomText(std::mt19937& rng, int max_pieces) {
  static const std::vector<std::pair<char32_t, char32_t>> kRanges = {
      {0x20, 0x7E},     {0x00, 0x1F},     {0xA0, 0xFF},
      {0x300, 0x36F},   {0x391, 0x3C9},   {0x4E00, 0x4E40},
      {0x3041, 0x3096}, {0xAC00, 0xAC40}, {0x1F600, 0x1F64F},
      {0x2000, 0x206F}, {0xFFF0, 0xFFFF}, {0x20000, 0x20010},
      {0x130, 0x131},   {0x1C4, 0x1CC},   {0xE000, 0xE010}};
  static const std::vector<std::string> kLiterals = {"[MASK]", "[CLS]", "[SEP]",
                                                     "[UNK]",  " ",     "the"};
  std::string text;
  const int pieces = std::uniform_int_distribution<int>(0, max_pieces)(rng);
  for (int i = 0; i < pieces; ++i) {
    if (rng() % 8 == 0) {
      text += kLiterals[rng() % kLiterals.size()];
      continue;
    }
    const auto& [first, last] = kRanges[rng() % kRanges.size()];
    const char32_t cp = first + rng() % (last - first + 1);
    utf8proc_uint8_t buffer[4];
    const auto n =
        utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buffer);
    text.append(reinterpret_cast<const char*>(buffer), size_t(n));
  }
  return text;
}

bool IsCharBoundary(const std::string& text, uint32_t offset) {
  return offset == text.size() ||
         (static_cast<unsigned char>(text[offset]) & 0xC0) != 0x80;
}

class TokenizerRandomTest : public ::testing::TestWithParam<bool> {};

// Offsets stay inside the text on character boundaries, in order; both
// entry points agree; and tokenizing "a b" is tokenizing "a" then "b"
// (whitespace separates completely), offsets shifted.
TEST_P(TokenizerRandomTest, OffsetsAreOrderedAndTextsCompose) {
  BertTokenizerSpec spec = UncasedSpec();
  spec.strip_accents = GetParam();
  WordPieceTokenizer tokenizer = MakeTokenizer(spec);
  std::mt19937 rng(1234);
  TokenizeOptions bare;
  bare.add_special_tokens = false;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    const std::string a = RandomText(rng, 12);
    const std::string b = RandomText(rng, 12);
    const std::string joined = a + " " + b;
    SCOPED_TRACE(testing::PrintToString(joined));
    auto ta = tokenizer.Tokenize(a, bare);
    auto tb = tokenizer.Tokenize(b, bare);
    auto tj = tokenizer.Tokenize(joined, bare);
    ASSERT_TRUE(ta.ok() && tb.ok() && tj.ok());
    const Token* previous = nullptr;
    for (const Token& token : tj->tokens) {
      ASSERT_LT(token.start, token.end);
      ASSERT_LE(token.end, joined.size());
      EXPECT_TRUE(IsCharBoundary(joined, token.start));
      EXPECT_TRUE(IsCharBoundary(joined, token.end));
      if (previous != nullptr) {
        EXPECT_GE(token.start, previous->start);
        EXPECT_GE(token.end, previous->end);
      }
      previous = &token;
    }
    std::vector<Token> expected = ta->tokens;
    for (Token token : tb->tokens) {
      token.start += uint32_t(a.size() + 1);
      token.end += uint32_t(a.size() + 1);
      expected.push_back(token);
    }
    ASSERT_EQ(tj->tokens.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(tj->tokens[i].id, expected[i].id) << i;
      EXPECT_EQ(tj->tokens[i].start, expected[i].start) << i;
      EXPECT_EQ(tj->tokens[i].end, expected[i].end) << i;
    }
    auto ids = tokenizer.EncodeIds(joined, {});
    ASSERT_TRUE(ids.ok());
    ASSERT_EQ(ids->ids.size(), tj->tokens.size() + 2);
    for (size_t i = 0; i < tj->tokens.size(); ++i)
      EXPECT_EQ(ids->ids[i + 1], tj->tokens[i].id);
  }
}

INSTANTIATE_TEST_SUITE_P(StripAccents, TokenizerRandomTest, ::testing::Bool());

// Strict UTF-8 (RFC 3629): no overlongs, surrogates or values > U+10FFFF.
bool IsValidUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return uint32_t(uint8_t(text[k])); };
    const uint32_t b0 = byte(i);
    size_t length = 0;
    uint32_t cp = 0, min = 0;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      length = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      length = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      length = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return false;
      cp = cp << 6 | (byte(i + k) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += length;
  }
  return true;
}

// Arbitrary bytes never crash: valid UTF-8 tokenizes, anything else is
// INVALID_ARGUMENT.
TEST(TokenizerRandomBytesTest, ArbitraryBytesNeverCrash) {
  WordPieceTokenizer tokenizer = MakeTokenizer(UncasedSpec());
  std::mt19937 rng(99);
  int valid = 0;
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::string text(rng() % 24, '\0');
    for (char& c : text)
      c = static_cast<char>(rng() % 4 == 0 ? rng() : rng() % 128);
    auto result = tokenizer.EncodeIds(text, {});
    const bool is_valid = IsValidUtf8(text);
    EXPECT_EQ(result.ok(), is_valid);
    if (!result.ok()) {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    }
    valid += is_valid;
  }
  EXPECT_GT(valid, 100);
}

}  // namespace
}  // namespace attnserve::core
