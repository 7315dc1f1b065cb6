// Compares WordPieceTokenizer with golden outputs of transformers.js and
// Hugging Face tokenizers (tests/golden/gen_tokenizer.mjs) on the test models
// of tests/golden/tokenizers/, through both loaders.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/load_bert_tokenizer.h"
#include "core/tokenizer/wordpiece_tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden";

nlohmann::json ReadGolden() {
  std::ifstream in(kGoldenDir + "/tokenizer_golden.json");
  std::stringstream bytes;
  bytes << in.rdbuf();
  return nlohmann::json::parse(bytes.str());
}

std::string Printable(const std::string& text) {
  return nlohmann::json(text).dump();
}

class TokenizerGoldenTest : public ::testing::TestWithParam<std::string> {};

void ExpectMatchesGolden(const WordPieceTokenizer& tokenizer,
                         const nlohmann::json& cases) {
  ASSERT_GE(cases.size(), 60u);
  for (const nlohmann::json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text " + Printable(text));
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    const auto pieces = c["tokens"].get<std::vector<std::string>>();

    absl::StatusOr<Tokenization> result = tokenizer.Tokenize(text, {});
    ASSERT_TRUE(result.ok()) << result.status();
    std::vector<int32_t> got_ids;
    std::vector<std::string> got_pieces;
    for (const Token& token : result->tokens) {
      got_ids.push_back(token.id);
      got_pieces.push_back(token.text);
    }
    EXPECT_EQ(got_ids, ids);
    EXPECT_EQ(got_pieces, pieces);
    EXPECT_EQ(result->untruncated_length, ids.size());
    if (c.contains("offsets") && got_ids == ids) {
      const auto offsets =
          c["offsets"].get<std::vector<std::vector<uint32_t>>>();
      ASSERT_EQ(offsets.size(), result->tokens.size());
      for (size_t i = 0; i < offsets.size(); ++i) {
        EXPECT_EQ(result->tokens[i].start, offsets[i][0]) << "token " << i;
        EXPECT_EQ(result->tokens[i].end, offsets[i][1]) << "token " << i;
      }
    }
    // The template tokens are exactly the first and the last.
    ASSERT_GE(result->tokens.size(), 2u);
    EXPECT_TRUE(result->tokens.front().special);
    EXPECT_TRUE(result->tokens.back().special);

    absl::StatusOr<EncodedIds> fast = tokenizer.EncodeIds(text, {});
    ASSERT_TRUE(fast.ok()) << fast.status();
    EXPECT_EQ(fast->ids, ids);

    TokenizeOptions no_special;
    no_special.add_special_tokens = false;
    absl::StatusOr<EncodedIds> bare = tokenizer.EncodeIds(text, no_special);
    ASSERT_TRUE(bare.ok()) << bare.status();
    EXPECT_EQ(bare->ids, std::vector<int32_t>(ids.begin() + 1, ids.end() - 1));
  }
}

TEST_P(TokenizerGoldenTest, TokenizerJsonMatchesReferences) {
  const nlohmann::json golden = ReadGolden();
  absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>> tokenizer =
      LoadBertTokenizer(kGoldenDir + "/tokenizers/" + GetParam());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ExpectMatchesGolden(**tokenizer, golden["models"][GetParam()]);
}

TEST_P(TokenizerGoldenTest, VocabTxtMatchesReferences) {
  const nlohmann::json golden = ReadGolden();
  absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>> tokenizer =
      LoadBertTokenizerFromVocab(kGoldenDir + "/tokenizers/" + GetParam());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ExpectMatchesGolden(**tokenizer, golden["models"][GetParam()]);
}

TEST_P(TokenizerGoldenTest, BothLoadersAgreeOnSettings) {
  const std::string dir = kGoldenDir + "/tokenizers/" + GetParam();
  auto from_json = LoadBertTokenizer(dir);
  auto from_vocab = LoadBertTokenizerFromVocab(dir);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  ASSERT_TRUE(from_vocab.ok()) << from_vocab.status();
  const WordPieceTokenizer& a = **from_json;
  const WordPieceTokenizer& b = **from_vocab;
  EXPECT_EQ(a.vocab_size(), b.vocab_size());
  EXPECT_EQ(a.cls_id(), b.cls_id());
  EXPECT_EQ(a.sep_id(), b.sep_id());
  EXPECT_EQ(a.pad_id(), b.pad_id());
  EXPECT_EQ(a.unk_id(), b.unk_id());
  EXPECT_EQ(a.max_length(), 64);
  EXPECT_EQ(b.max_length(), 64);
  EXPECT_EQ(a.spec().lowercase, b.spec().lowercase);
  EXPECT_EQ(a.spec().strip_accents, b.spec().strip_accents);
  EXPECT_EQ(a.IdToToken(a.cls_id()), "[CLS]");
  EXPECT_EQ(a.IdToToken(a.sep_id()), "[SEP]");
  EXPECT_EQ(a.IdToToken(a.pad_id()), "[PAD]");
  EXPECT_EQ(a.IdToToken(a.unk_id()), "[UNK]");
}

// Without normalisation (cased model), every piece is the original bytes of
// its span minus the characters text cleaning drops.
TEST(TokenizerGoldenInvariantTest, CasedPiecesAreTheirSourceBytes) {
  const nlohmann::json golden = ReadGolden();
  auto tokenizer =
      LoadBertTokenizer(kGoldenDir + "/tokenizers/bert-mini-cased");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  int checked = 0;
  for (const nlohmann::json& c : golden["models"]["bert-mini-cased"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text " + Printable(text));
    TokenizeOptions options;
    options.add_special_tokens = false;
    auto result = (*tokenizer)->Tokenize(text, options);
    ASSERT_TRUE(result.ok()) << result.status();
    uint32_t previous_end = 0;
    for (const Token& token : result->tokens) {
      ASSERT_LT(token.start, token.end);
      ASSERT_LE(token.end, text.size());
      EXPECT_GE(token.start, previous_end);
      previous_end = token.end;
      if (token.id == (*tokenizer)->unk_id()) continue;
      std::string piece = token.text;
      if (piece.rfind("##", 0) == 0) piece = piece.substr(2);
      std::string source = text.substr(token.start, token.end - token.start);
      // Drop what cleaning drops inside a span (NUL, C0 controls, U+200B,
      // U+00AD, U+FEFF, U+FFFD, U+E000 private use, U+0085).
      for (const char* dropped : {"\xE2\x80\x8B", "\xC2\xAD", "\xEF\xBB\xBF",
                                  "\xEF\xBF\xBD", "\xEE\x80\x80", "\xC2\x85"}) {
        for (size_t at; (at = source.find(dropped)) != std::string::npos;)
          source.erase(at, std::char_traits<char>::length(dropped));
      }
      std::string visible;
      for (char ch : source) {
        const unsigned char byte = static_cast<unsigned char>(ch);
        if (byte >= 0x20 && byte != 0x7F) visible.push_back(ch);
      }
      EXPECT_EQ(visible, piece);
      ++checked;
    }
  }
  EXPECT_GT(checked, 300);
}

INSTANTIATE_TEST_SUITE_P(Models, TokenizerGoldenTest,
                         ::testing::Values("bert-mini-uncased",
                                           "bert-mini-cased",
                                           "bert-mini-uncased-keep-accents"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace attnserve::core
