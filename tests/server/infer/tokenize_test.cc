// server/infer/tokenize: what Tokenize reports for any tokenizer (pieces as
// the vocabulary spells them, byte offsets, special flags) and its errors.
#include "server/infer/tokenize.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/load_tokenizer.h"
#include "gtest/gtest.h"

namespace attnserve::server {
namespace {

ServedModel WithTokenizer(const std::string& golden_name) {
  ServedModel model;
  auto tokenizer = core::tokenizers::LoadTokenizer(
      std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/tokenizers/" +
      golden_name);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  if (tokenizer.ok()) model.tokenizer = *tokenizer;
  return model;
}

TEST(TokenizeTextsTest, ByteLevelBpePiecesOffsetsAndSpecials) {
  const ServedModel model = WithTokenizer("roberta-bpe");
  ASSERT_NE(model.tokenizer, nullptr);
  // "<mask>" is a special added token with lstrip: HF's token string is
  // " <mask>" (the space it took), the piece reported is the vocabulary's.
  const std::vector<absl::string_view> texts = {"Hello <mask> world", ""};
  absl::StatusOr<std::vector<Tokenization>> result =
      TokenizeTexts(model, texts, /*add_special_tokens=*/true);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);
  const Tokenization& tokens = (*result)[0];
  ASSERT_GE(tokens.size(), 5u);
  EXPECT_EQ(tokens.front().text, "<s>");
  EXPECT_TRUE(tokens.front().special);
  EXPECT_EQ(tokens.front().start, 0u);
  EXPECT_EQ(tokens.front().end, 0u);
  EXPECT_EQ(tokens.back().text, "</s>");
  EXPECT_TRUE(tokens.back().special);
  bool saw_mask = false;
  for (const TokenPiece& t : tokens) {
    EXPECT_EQ(model.tokenizer->IdToToken(t.id).value_or("?"), t.text);
    if (t.text == "<mask>") {
      saw_mask = true;
      EXPECT_TRUE(t.special);
      // lstrip took the space, RobertaProcessing's trim_offsets gives it
      // back (as HF does): the span is "<mask>" itself.
      EXPECT_EQ(t.start, 6u);
      EXPECT_EQ(t.end, 12u);
    } else if (t.start != t.end) {
      EXPECT_FALSE(t.special) << t.text;
    }
  }
  EXPECT_TRUE(saw_mask);
  EXPECT_EQ(tokens[1].text, "Hello");
  EXPECT_EQ(tokens[1].start, 0u);
  EXPECT_EQ(tokens[1].end, 5u);
  // An empty text is the special tokens alone.
  ASSERT_EQ((*result)[1].size(), 2u);
}

TEST(TokenizeTextsTest, MetaspaceUnigramWithoutSpecialTokens) {
  const ServedModel model = WithTokenizer("xlmr-sentencepiece");
  ASSERT_NE(model.tokenizer, nullptr);
  const std::vector<absl::string_view> texts = {"héllo wörld"};
  absl::StatusOr<std::vector<Tokenization>> result =
      TokenizeTexts(model, texts, /*add_special_tokens=*/false);
  ASSERT_TRUE(result.ok()) << result.status();
  const Tokenization& tokens = (*result)[0];
  ASSERT_FALSE(tokens.empty());
  EXPECT_EQ(tokens.front().text.rfind("\xE2\x96\x81", 0), 0u)  // "▁..."
      << tokens.front().text;
  uint32_t previous_start = 0;
  for (const TokenPiece& t : tokens) {
    EXPECT_FALSE(t.special);
    EXPECT_LE(t.start, t.end);
    EXPECT_LE(t.end, texts[0].size());
    EXPECT_GE(t.start, previous_start);
    previous_start = t.start;
  }
  EXPECT_EQ(tokens.back().end, texts[0].size());
}

TEST(TokenizeTextsTest, ErrorsNameTheText) {
  const ServedModel model = WithTokenizer("wordpiece");
  ASSERT_NE(model.tokenizer, nullptr);
  const std::vector<absl::string_view> texts = {"fine", "bad \xC3("};
  absl::StatusOr<std::vector<Tokenization>> result =
      TokenizeTexts(model, texts, true);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(),
            "texts[1]: invalid UTF-8 at byte offset 4");
  EXPECT_EQ(TokenizeTexts(model, {}, true).status().message(),
            "texts is empty, expected texts");
  absl::StatusOr<core::tokenizers::Encoding> encoded =
      EncodeText(model, "bad \xFF", "texts[7]", 0);
  EXPECT_EQ(encoded.status().message(),
            "texts[7]: invalid UTF-8 at byte offset 4");
}

}  // namespace
}  // namespace attnserve::server
