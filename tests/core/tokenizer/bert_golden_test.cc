// The pipeline on the BERT test models of tests/golden/tokenizers/ against
// HF tokenizers (the Rust library) and transformers.js
// (tests/golden/gen_tokenizer.mjs), through both loaders: tokenizer.json and
// vocab.txt alone. Where the two references differ the golden file follows
// the Rust one (a word-final Σ lowercases to σ; CJK Extension B ideographs
// split).
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/load_tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {
namespace {

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden";

nlohmann::json ReadGolden() {
  std::ifstream in(kGoldenDir + "/tokenizer_golden.json");
  std::stringstream bytes;
  bytes << in.rdbuf();
  return nlohmann::json::parse(bytes.str());
}

void ExpectMatchesRust(const Tokenizer& tokenizer,
                       const nlohmann::json& cases) {
  ASSERT_GE(cases.size(), 60u);
  for (const nlohmann::json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text " + nlohmann::json(text).dump());
    // "ids" follow the Rust library where transformers.js differs.
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    absl::StatusOr<Encoding> encoding = tokenizer.Encode(text, {});
    ASSERT_TRUE(encoding.ok()) << encoding.status();
    EXPECT_EQ(encoding->ids, ids);
    for (size_t i = 0; i < encoding->size(); ++i) {
      EXPECT_EQ(tokenizer.IdToToken(encoding->ids[i]).value_or("?"),
                encoding->tokens[i]);
    }
    if (c.contains("offsets")) {
      const auto offsets =
          c["offsets"].get<std::vector<std::vector<uint32_t>>>();
      ASSERT_EQ(offsets.size(), encoding->size());
      for (size_t i = 0; i < offsets.size(); ++i) {
        EXPECT_EQ(encoding->offsets[i].start, offsets[i][0]) << "token " << i;
        EXPECT_EQ(encoding->offsets[i].end, offsets[i][1]) << "token " << i;
      }
    }
    ASSERT_GE(encoding->size(), 2u);
    EXPECT_EQ(encoding->special_tokens_mask.front(), 1);
    EXPECT_EQ(encoding->special_tokens_mask.back(), 1);
    EncodeOptions bare;
    bare.add_special_tokens = false;
    absl::StatusOr<Encoding> no_special = tokenizer.Encode(text, bare);
    ASSERT_TRUE(no_special.ok()) << no_special.status();
    EXPECT_EQ(no_special->ids,
              std::vector<int32_t>(ids.begin() + 1, ids.end() - 1));
  }
}

class BertGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BertGoldenTest, TokenizerJsonMatchesRust) {
  auto tokenizer = LoadTokenizer(kGoldenDir + "/tokenizers/" + GetParam());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ExpectMatchesRust(**tokenizer, ReadGolden()["models"][GetParam()]);
}

TEST_P(BertGoldenTest, VocabTxtMatchesRust) {
  auto tokenizer =
      LoadTokenizerFromVocab(kGoldenDir + "/tokenizers/" + GetParam());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ExpectMatchesRust(**tokenizer, ReadGolden()["models"][GetParam()]);
}

TEST_P(BertGoldenTest, BothRoutesAgreeOnSettings) {
  const std::string dir = kGoldenDir + "/tokenizers/" + GetParam();
  auto a = LoadTokenizer(dir);
  auto b = LoadTokenizerFromVocab(dir);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*a)->VocabSize(), (*b)->VocabSize());
  EXPECT_EQ((*a)->model_max_length(), 64);
  EXPECT_EQ((*b)->model_max_length(), 64);
  EXPECT_EQ((*a)->model_type(), "WordPiece");
  EXPECT_EQ((*b)->model_type(), "WordPiece");
  EXPECT_EQ((*a)->NumSpecialTokens(false), 2u);
  EXPECT_EQ((*b)->NumSpecialTokens(false), 2u);
  EXPECT_EQ((*a)->NumSpecialTokens(true), 3u);
  EXPECT_EQ((*b)->NumSpecialTokens(true), 3u);
  for (const char* token : {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"}) {
    EXPECT_EQ((*a)->TokenToId(token), (*b)->TokenToId(token)) << token;
    EXPECT_TRUE((*a)->IsSpecialId((*a)->TokenToId(token).value_or(-1)))
        << token;
    EXPECT_TRUE((*b)->IsSpecialId((*b)->TokenToId(token).value_or(-1)))
        << token;
  }
  absl::StatusOr<Encoding> pa = (*a)->EncodePair("Hello world", "a pair", {});
  absl::StatusOr<Encoding> pb = (*b)->EncodePair("Hello world", "a pair", {});
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(pa->ids, pb->ids);
  EXPECT_EQ(pa->type_ids, pb->type_ids);
}

INSTANTIATE_TEST_SUITE_P(Models, BertGoldenTest,
                         ::testing::Values("bert-mini-uncased",
                                           "bert-mini-cased",
                                           "bert-mini-uncased-keep-accents"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace attnserve::core::tokenizers
