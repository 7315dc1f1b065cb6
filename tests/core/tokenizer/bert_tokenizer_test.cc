// The BERT tokenizer's rules (vocab.txt route, BertNormalizer,
// BertPreTokenizer, WordPiece, the [CLS] $A [SEP] template, added tokens,
// truncation), the tokenizer file parsers and the directory loader. Golden
// comparisons with HF tokenizers are in bert_golden_test.cc and
// components_golden_test.cc.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/models/demo/demo_model.h"
#include "core/tokenizer/load_tokenizer.h"
#include "core/tokenizer/tokenizer_files.h"
#include "core/tokenizer/tokenizer_json.h"
#include "core/tokenizer/unicode.h"
#include "core/tokenizer/vocab_txt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::core::tokenizers {
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

std::unique_ptr<Tokenizer> Make(std::vector<std::string> vocab,
                                const TokenizerConfigJson& config = {}) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      MakeTokenizerFromVocab(std::move(vocab), config);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

std::unique_ptr<Tokenizer> Uncased() { return Make(TestVocab()); }

Encoding EncodeOk(const Tokenizer& tokenizer, const std::string& text,
                  bool add_special_tokens) {
  EncodeOptions options;
  options.add_special_tokens = add_special_tokens;
  absl::StatusOr<Encoding> result = tokenizer.Encode(text, options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : Encoding{};
}

std::vector<std::string> Pieces(const Tokenizer& tokenizer,
                                const std::string& text,
                                bool add_special_tokens = false) {
  return EncodeOk(tokenizer, text, add_special_tokens).tokens;
}

std::vector<std::pair<uint32_t, uint32_t>> OffsetsOf(const Tokenizer& tokenizer,
                                                     const std::string& text) {
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  for (const Offsets& o : EncodeOk(tokenizer, text, false).offsets) {
    offsets.emplace_back(o.start, o.end);
  }
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
  std::unique_ptr<Tokenizer> tokenizer = Make(*vocab);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->TokenToId("dup"), 6);
  EXPECT_EQ(tokenizer->IdToToken(4), "dup");
  EXPECT_EQ(tokenizer->VocabSize(), 7u);
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

TEST(MakeTokenizerFromVocabTest, MissingClsOrUnkIsAnError) {
  auto tokenizer = MakeTokenizerFromVocab({"[UNK]", "[SEP]"}, {});
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokenizer.status().message(),
              HasSubstr("vocab.txt: has no entry for the cls_token \"[CLS]\""));
  tokenizer = MakeTokenizerFromVocab({"a", "b"}, {});
  EXPECT_THAT(tokenizer.status().message(),
              HasSubstr("unk_token \"[UNK]\" is not in the vocabulary"));
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

std::unique_ptr<Tokenizer> FromJson(const std::string& json) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      ParseTokenizerJson(json);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

TEST(ParseTokenizerJsonTest, ReadsWordPieceBertTokenizer) {
  auto tokenizer = FromJson(TokenizerJson("WordPiece", kBertNormalizer,
                                          kBertPreTokenizer, kTemplate));
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->VocabSize(), 9u);
  EXPECT_EQ(tokenizer->IdToToken(5), "hello");
  EXPECT_EQ(tokenizer->NumSpecialTokens(false), 2u);
  // max_input_chars_per_word 5: "helloo" is [UNK].
  EXPECT_THAT(
      Pieces(*tokenizer, "HELLO hellO [MASK] helloo", true),
      ElementsAre("[CLS]", "hello", "hello", "[MASK]", "[UNK]", "[SEP]"));
}

TEST(ParseTokenizerJsonTest, BertProcessingAndSequenceNormalizer) {
  auto tokenizer = FromJson(TokenizerJson(
      "WordPiece",
      R"({"type": "Sequence", "normalizers": [{"type": "NFD"},
          {"type": "Lowercase"}, {"type": "StripAccents"}]})",
      R"({"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}]})",
      R"({"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]})"));
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_THAT(Pieces(*tokenizer, "HÉLLO", true),
              ElementsAre("[CLS]", "hello", "[SEP]"));
}

TEST(ParseTokenizerJsonTest, NullPostProcessorAddsNothing) {
  auto tokenizer = FromJson(
      TokenizerJson("WordPiece", kBertNormalizer, kBertPreTokenizer, "null"));
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_THAT(Pieces(*tokenizer, "hello", true), ElementsAre("hello"));
}

// ---------------------------------------------------------- tokenizer rules

TEST(BertTokenizerTest, GreedyLongestMatchFirstWithPrefix) {
  auto tokenizer = Uncased();
  EXPECT_THAT(Pieces(*tokenizer, "unaffable running"),
              ElementsAre("un", "##aff", "##able", "run", "##ning"));
  EXPECT_THAT(
      OffsetsOf(*tokenizer, "unaffable running"),
      ElementsAre(std::pair(0u, 2u), std::pair(2u, 5u), std::pair(5u, 9u),
                  std::pair(10u, 13u), std::pair(13u, 17u)));
}

TEST(BertTokenizerTest, WordWithoutMatchIsOneUnk) {
  auto tokenizer = Uncased();
  // "runz": "run" matches but "##z" does not -> the whole word is [UNK].
  EXPECT_THAT(Pieces(*tokenizer, "runz the"), ElementsAre("[UNK]", "the"));
  EXPECT_THAT(OffsetsOf(*tokenizer, "runz the"),
              ElementsAre(std::pair(0u, 4u), std::pair(5u, 8u)));
}

TEST(BertTokenizerTest, WordsLongerThanMaxCharsAreUnk) {
  auto tokenizer = Uncased();
  const std::string hundred = "a" + std::string(99, 'b');
  EXPECT_EQ(Pieces(*tokenizer, hundred).size(), 100u);
  // Counted in characters, not bytes: 101 two-byte "é" are 101 chars.
  std::string long_word;
  for (int i = 0; i < 101; ++i) long_word += "\xC3\xA9";
  EXPECT_THAT(Pieces(*tokenizer, hundred + "b"), ElementsAre("[UNK]"));
  EXPECT_THAT(Pieces(*tokenizer, long_word), ElementsAre("[UNK]"));
  std::string fifty;
  for (int i = 0; i < 50; ++i) fifty += "\xC3\xA9";  // 100 bytes, 50 chars
  EXPECT_EQ(Pieces(*tokenizer, fifty).size(), 50u);
}

TEST(BertTokenizerTest, PunctuationSplitsIncludingAsciiSymbols) {
  auto tokenizer = Uncased();
  EXPECT_THAT(Pieces(*tokenizer, "a,b!"), ElementsAre("a", ",", "b", "!"));
  // '$' and '^' are not Unicode P* but BERT counts ASCII symbols.
  EXPECT_THAT(Pieces(*tokenizer, "a$b^"),
              ElementsAre("a", "[UNK]", "b", "[UNK]"));
  // U+2014 EM DASH is Pd.
  EXPECT_THAT(Pieces(*tokenizer,
                     "a\xE2\x80\x94"
                     "b"),
              ElementsAre("a", "[UNK]", "b"));
}

TEST(BertTokenizerTest, CleansControlCharactersAndWhitespace) {
  auto tokenizer = Uncased();
  constexpr char kText[] =
      "a\0b\x01x\xEF\xBF\xBD\xE2\x80\x8B"
      "x\tthe\xC2\xA0the\xE3\x80\x80the";
  const std::string text(kText, sizeof(kText) - 1);
  ASSERT_EQ(text.size(), 27u);
  EXPECT_THAT(Pieces(*tokenizer, text),
              ElementsAre("a", "##b", "##x", "##x", "the", "the", "the"));
  // U+FFFD at 5..8 and U+200B at 8..11 are dropped; the second x is 11..12.
  EXPECT_THAT(OffsetsOf(*tokenizer, text)[3], std::pair(11u, 12u));
}

TEST(BertTokenizerTest, ChineseCharactersAreSingleTokens) {
  auto tokenizer = Uncased();
  EXPECT_THAT(Pieces(*tokenizer, "a中文b"), ElementsAre("a", "中", "文", "b"));
  EXPECT_THAT(OffsetsOf(*tokenizer, "a中文b"),
              ElementsAre(std::pair(0u, 1u), std::pair(1u, 4u),
                          std::pair(4u, 7u), std::pair(7u, 8u)));
  // CJK Extension B (U+20000) is in HF's ranges too.
  EXPECT_THAT(Pieces(*tokenizer,
                     "a\xF0\xA0\x80\x80"
                     "b"),
              ElementsAre("a", "[UNK]", "b"));
  TokenizerConfigJson config;
  config.tokenize_chinese_chars = false;
  EXPECT_THAT(Pieces(*Make(TestVocab(), config), "a中文b"),
              ElementsAre("[UNK]"));
}

TEST(BertTokenizerTest, LowercaseAndStripAccentsMapBackToOriginalBytes) {
  auto tokenizer = Uncased();
  // "CAFÉ" (precomposed) and "cafe" + U+0301 (decomposed). A dropped mark
  // of its own is not part of the span (as in HF tokenizers); a mark inside
  // a precomposed character is.
  EXPECT_THAT(Pieces(*tokenizer, "CAF\xC3\x89 cafe\xCC\x81"),
              ElementsAre("cafe", "cafe"));
  EXPECT_THAT(OffsetsOf(*tokenizer, "CAF\xC3\x89 cafe\xCC\x81"),
              ElementsAre(std::pair(0u, 5u), std::pair(6u, 10u)));
  // Pieces inside a word: "caf" + "##e" from "CAFÉ" when "cafe" is absent.
  std::vector<std::string> vocab = TestVocab();
  vocab[17] = "caf";
  auto split = Make(vocab);
  EXPECT_THAT(Pieces(*split, "CAF\xC3\x89"), ElementsAre("caf", "##e"));
  EXPECT_THAT(OffsetsOf(*split, "CAF\xC3\x89"),
              ElementsAre(std::pair(0u, 3u), std::pair(3u, 5u)));
}

TEST(BertTokenizerTest, StripAccentsFollowsOptions) {
  TokenizerConfigJson keep;
  keep.strip_accents = false;
  EXPECT_THAT(Pieces(*Make(TestVocab(), keep), "\xC3\x89"), ElementsAre("é"));
  TokenizerConfigJson cased;
  cased.do_lower_case = false;  // strip_accents unset: follows lowercase
  EXPECT_THAT(Pieces(*Make(TestVocab(), cased), "\xC3\xA9 E"),
              ElementsAre("é", "[UNK]"));
  cased.strip_accents = true;
  EXPECT_THAT(Pieces(*Make(TestVocab(), cased), "\xC3\xA9"), ElementsAre("e"));
}

TEST(BertTokenizerTest, FullLowercaseSpecialCases) {
  auto tokenizer = Uncased();
  // İ: accent stripping (NFD, drop Mn) leaves I, which lowercases to i.
  EXPECT_THAT(Pieces(*tokenizer, "\xC4\xB0"), ElementsAre("i"));
  EXPECT_THAT(OffsetsOf(*tokenizer, "\xC4\xB0"),
              ElementsAre(std::pair(0u, 2u)));
  // Σ lowercases to σ wherever it is: Rust lowercases each character on its
  // own (HF tokenizers, the reference), with no final-sigma rule.
  EXPECT_THAT(Pieces(*tokenizer, "ΟΔΟΣ Σ ΟΔΟΣ."),
              ElementsAre("οδοσ", "σ", "οδοσ", "[UNK]"));
  EXPECT_THAT(Pieces(*tokenizer, "ΟΣΟ"), ElementsAre("ο", "##σ", "##ο"));
}

TEST(BertTokenizerTest, AddedTokensMatchLiterallyBeforeNormalization) {
  auto tokenizer = Uncased();
  EXPECT_THAT(Pieces(*tokenizer, "the[MASK]the [mask]"),
              ElementsAre("the", "[MASK]", "the", "[UNK]", "[UNK]", "[UNK]"));
  Encoding result = EncodeOk(*tokenizer, "the [MASK]", false);
  ASSERT_EQ(result.size(), 2u);
  EXPECT_EQ(result.ids[1], 4);
  EXPECT_TRUE(tokenizer->IsSpecialId(result.ids[1]));
  EXPECT_EQ(result.offsets[1], (Offsets{4, 10}));
  EXPECT_FALSE(tokenizer->IsSpecialId(result.ids[0]));
}

TEST(BertTokenizerTest, SpecialTokensHaveZeroOffsets) {
  auto tokenizer = Uncased();
  Encoding result = EncodeOk(*tokenizer, "the", true);
  ASSERT_EQ(result.size(), 3u);
  EXPECT_EQ(result.tokens[0], "[CLS]");
  EXPECT_EQ(result.ids[0], tokenizer->TokenToId("[CLS]"));
  EXPECT_EQ(result.ids[2], tokenizer->TokenToId("[SEP]"));
  for (int i : {0, 2}) {
    EXPECT_EQ(result.special_tokens_mask[i], 1);
    EXPECT_EQ(result.offsets[i], (Offsets{0, 0}));
  }
  EXPECT_EQ(result.special_tokens_mask[1], 0);
  EXPECT_EQ(result.offsets[1], (Offsets{0, 3}));
}

TEST(BertTokenizerTest, EmptyAndWhitespaceOnlyTexts) {
  auto tokenizer = Uncased();
  EXPECT_THAT(Pieces(*tokenizer, "", true), ElementsAre("[CLS]", "[SEP]"));
  EXPECT_THAT(Pieces(*tokenizer, " \t\n\r", true),
              ElementsAre("[CLS]", "[SEP]"));
  EXPECT_TRUE(Pieces(*tokenizer, "", false).empty());
}

TEST(BertTokenizerTest, InvalidUtf8IsAnErrorWithTheByteOffset) {
  auto tokenizer = Uncased();
  for (const auto& [text, offset] : std::vector<std::pair<std::string, int>>{
           {"the \xff", 4},
           {"ab\xC3", 2},                 // truncated sequence
           {"\xC0\xAF", 0},               // overlong
           {"a\xED\xA0\x80", 1},          // UTF-16 surrogate
           {"ok\xF4\x90\x80\x80", 2}}) {  // above U+10FFFF
    auto result = tokenizer->Encode(text, {});
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message(),
              "invalid UTF-8 at byte offset " + std::to_string(offset));
  }
}

TEST(BertTokenizerTest, TruncationKeepsSepAndReportsFullLength) {
  auto tokenizer = Uncased();
  EncodeOptions options;
  options.max_length = 4;
  auto result = tokenizer->Encode("the the the the", options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->untruncated_length, 6u);
  EXPECT_THAT(result->tokens, ElementsAre("[CLS]", "the", "the", "[SEP]"));

  options.max_length = 6;  // exactly fits: unchanged
  auto fits = tokenizer->Encode("the the the the", options);
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->ids.size(), 6u);
  EXPECT_EQ(fits->untruncated_length, 6u);

  options.max_length = 1;
  EXPECT_THAT(tokenizer->Encode("the the", options).status().message(),
              HasSubstr("max_length is 1, expected at least 2"));
  options.add_special_tokens = false;
  auto bare = tokenizer->Encode("the the", options);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->ids, std::vector<int32_t>{5});
  EXPECT_EQ(bare->untruncated_length, 2u);
}

TEST(BertTokenizerTest, ConcurrentCallsGiveTheSameResult) {
  auto tokenizer = Uncased();
  const std::string text = "Unaffable RUNNING, café 中文! the a b";
  auto expected = tokenizer->Encode(text, {});
  ASSERT_TRUE(expected.ok());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto ids = tokenizer->Encode(text, {});
        if (!ids.ok() || ids->ids != expected->ids) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

// ------------------------------------------------------------------- loader

class LoadTokenizerTest : public ::testing::Test {
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

TEST_F(LoadTokenizerTest, MissingFilesIsNotFound) {
  auto tokenizer = LoadTokenizer(dir_.string());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tokenizer.status().message(),
              HasSubstr("has neither tokenizer.json nor vocab.txt"));
}

TEST_F(LoadTokenizerTest, VocabRouteReadsConfigAndSpecialTokensMap) {
  Write("vocab.txt", "<pad>\n<unk>\n[CLS]\n[SEP]\nHello\n");
  Write("tokenizer_config.json",
        R"({"do_lower_case": false, "model_max_length": 128,
            "clean_up_tokenization_spaces": true})");
  Write("special_tokens_map.json",
        R"({"unk_token": "<unk>", "pad_token": "<pad>"})");
  auto tokenizer = LoadTokenizer(dir_.string());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->model_max_length(), 128);
  EXPECT_TRUE((*tokenizer)->clean_up_tokenization_spaces());
  EXPECT_TRUE((*tokenizer)->IsSpecialId(1));
  EXPECT_TRUE((*tokenizer)->IsSpecialId(0));
  EXPECT_THAT(Pieces(**tokenizer, "Hello hello"),
              ElementsAre("Hello", "<unk>"));
}

TEST_F(LoadTokenizerTest, PrefersTokenizerJsonAndNamesTheFileInErrors) {
  Write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n");
  Write("tokenizer.json", TokenizerJson("WordLevel", kBertNormalizer,
                                        kBertPreTokenizer, kTemplate));
  auto tokenizer = LoadTokenizer(dir_.string());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokenizer.status().message(),
              HasSubstr(dir_.string() +
                        "/tokenizer.json: model.type = \"WordLevel\" is not "
                        "supported"));
  Write("tokenizer.json", TokenizerJson("WordPiece", kBertNormalizer,
                                        kBertPreTokenizer, kTemplate));
  Write("tokenizer_config.json", R"({"model_max_length": 512})");
  tokenizer = LoadTokenizer(dir_.string());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->VocabSize(), 9u);
  EXPECT_EQ((*tokenizer)->model_max_length(), 512);
  Write("tokenizer_config.json", R"({"model_max_length": "x"})");
  tokenizer = LoadTokenizer(dir_.string());
  EXPECT_THAT(
      tokenizer.status().message(),
      HasSubstr(dir_.string() + "/tokenizer_config.json: model_max_length"));
}

// Files that exist but cannot be read as files are errors naming the file,
// never "missing", and never a blocking read (a FIFO has no writer).
TEST_F(LoadTokenizerTest, FilesThatAreNotRegularFilesAreRefused) {
  for (const char* name : {"tokenizer.json", "vocab.txt"}) {
    SCOPED_TRACE(name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::create_directory(dir_ / name);
    auto tokenizer = LoadTokenizer(dir_.string());
    EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokenizer.status().message(),
                HasSubstr((dir_ / name).string() + ": not a regular file"));
    std::filesystem::remove(dir_ / name);
    ASSERT_EQ(::mkfifo((dir_ / name).c_str(), 0600), 0);
    tokenizer = LoadTokenizer(dir_.string());
    EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokenizer.status().message(),
                HasSubstr((dir_ / name).string() + ": not a regular file"));
  }
}

TEST_F(LoadTokenizerTest, UnreadableVocabIsAnErrorNotMissing) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  Write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n");
  ::chmod((dir_ / "vocab.txt").c_str(), 0);
  auto tokenizer = LoadTokenizer(dir_.string());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokenizer.status().message(),
              HasSubstr((dir_ / "vocab.txt").string() + ": cannot open"));
}

TEST(MakeTokenizerFromVocabTest, TokenizesWithTheDemoModelVocabulary) {
  absl::StatusOr<DemoModel> demo = MakeDemoModel();
  ASSERT_TRUE(demo.ok()) << demo.status();
  auto tokenizer = Make(demo->vocab);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->VocabSize(), demo->vocab.size());
  Encoding e = EncodeOk(*tokenizer, "Hello, world!", true);
  EXPECT_EQ(e.tokens.front(), "[CLS]");
  EXPECT_GE(e.size(), 5u);
  for (int32_t id : e.ids) EXPECT_NE(id, tokenizer->TokenToId("[UNK]"));
}

TEST_F(LoadTokenizerTest, LoadsTheTinyBertTestModel) {
  auto tokenizer = LoadTokenizer(std::string(ATTNSERVE_SOURCE_DIR) +
                                 "/tests/golden/tiny_bert");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_GT((*tokenizer)->VocabSize(), 5u);
  EXPECT_EQ(EncodeOk(**tokenizer, "", true).tokens.front(), "[CLS]");
}

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
    AppendUtf8(cp, &text);
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
  TokenizerConfigJson config;
  config.strip_accents = GetParam();
  auto tokenizer = Make(TestVocab(), config);
  std::mt19937 rng(1234);
  EncodeOptions bare;
  bare.add_special_tokens = false;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    const std::string a = RandomText(rng, 12);
    const std::string b = RandomText(rng, 12);
    const std::string joined = a + " " + b;
    SCOPED_TRACE(testing::PrintToString(joined));
    auto ta = tokenizer->Encode(a, bare);
    auto tb = tokenizer->Encode(b, bare);
    auto tj = tokenizer->Encode(joined, bare);
    ASSERT_TRUE(ta.ok() && tb.ok() && tj.ok());
    for (size_t i = 0; i < tj->size(); ++i) {
      const Offsets& o = tj->offsets[i];
      ASSERT_LT(o.start, o.end);
      ASSERT_LE(o.end, joined.size());
      EXPECT_TRUE(IsCharBoundary(joined, o.start));
      EXPECT_TRUE(IsCharBoundary(joined, o.end));
      if (i > 0) {
        EXPECT_GE(o.start, tj->offsets[i - 1].start);
        EXPECT_GE(o.end, tj->offsets[i - 1].end);
      }
    }
    std::vector<int32_t> expected_ids = ta->ids;
    std::vector<Offsets> expected_offsets = ta->offsets;
    expected_ids.insert(expected_ids.end(), tb->ids.begin(), tb->ids.end());
    for (Offsets o : tb->offsets) {
      o.start += uint32_t(a.size() + 1);
      o.end += uint32_t(a.size() + 1);
      expected_offsets.push_back(o);
    }
    EXPECT_EQ(tj->ids, expected_ids);
    EXPECT_EQ(tj->offsets, expected_offsets);
    auto with_specials = tokenizer->Encode(joined, {});
    ASSERT_TRUE(with_specials.ok());
    ASSERT_EQ(with_specials->size(), tj->size() + 2);
    for (size_t i = 0; i < tj->size(); ++i)
      EXPECT_EQ(with_specials->ids[i + 1], tj->ids[i]);
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
  auto tokenizer = Uncased();
  std::mt19937 rng(99);
  int valid = 0;
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::string text(rng() % 24, '\0');
    for (char& c : text)
      c = static_cast<char>(rng() % 4 == 0 ? rng() : rng() % 128);
    auto result = tokenizer->Encode(text, {});
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
}  // namespace attnserve::core::tokenizers
