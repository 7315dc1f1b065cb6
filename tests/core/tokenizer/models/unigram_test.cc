// Unigram (core/tokenizer/models/unigram.h) against Hugging Face tokenizers'
// Unigram model (tests/golden/tokenizer_models.json), plus its tokenizer.json
// errors.
#include "core/tokenizer/models/unigram.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/tokenizer/models/tokenizer_model_golden.h"

namespace attnserve::core::tokenizers {
namespace {

using ::testing::HasSubstr;

TEST(UnigramTest, MatchesHuggingFaceOnEveryGoldenModel) {
  const std::vector<nlohmann::json> models = GoldenModelsOfType("Unigram");
  ASSERT_GE(models.size(), 7u);
  size_t words = 0;
  for (const nlohmann::json& m : models) {
    SCOPED_TRACE(m["name"].get<std::string>());
    absl::StatusOr<std::unique_ptr<Unigram>> unigram =
        Unigram::FromJson(m["model"]);
    ASSERT_TRUE(unigram.ok()) << unigram.status();
    ExpectMatchesGolden(**unigram, m, &words);
  }
  EXPECT_GE(words, 700u);
}

nlohmann::json SmallModel() {
  return nlohmann::json::parse(R"({
    "type": "Unigram", "unk_id": 0, "byte_fallback": false,
    "vocab": [["<unk>", 0], ["a", -1], ["b", -1], ["ab", -1.5], ["c", -3],
              ["abc", -4.6]]})");
}

std::vector<ModelToken> Tokens(const Model& model, const std::string& word) {
  std::vector<ModelToken> tokens;
  const absl::Status status = model.Tokenize(word, &tokens);
  EXPECT_TRUE(status.ok()) << status;
  return tokens;
}

std::vector<std::string> Values(const Model& model, const std::string& word) {
  std::vector<std::string> values;
  for (const ModelToken& t : Tokens(model, word)) values.push_back(t.value);
  return values;
}

TEST(UnigramTest, PicksTheBestPathAndFusesUnknowns) {
  auto unigram = Unigram::FromJson(SmallModel());
  ASSERT_TRUE(unigram.ok()) << unigram.status();
  EXPECT_EQ((*unigram)->type(), "Unigram");
  EXPECT_EQ((*unigram)->VocabSize(), 6u);
  // ab (-1.5) beats a + b (-2); abc (-4.6) loses to ab + c (-4.5).
  EXPECT_EQ(Values(**unigram, "ab"), (std::vector<std::string>{"ab"}));
  EXPECT_EQ(Values(**unigram, "abc"), (std::vector<std::string>{"ab", "c"}));
  // Unknown characters fuse into one piece spelled as the text.
  const std::vector<ModelToken> tokens = Tokens(**unigram, "xé€a");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].id, 0);
  EXPECT_EQ(tokens[0].value, "xé€");
  EXPECT_EQ(tokens[0].start, 0u);
  EXPECT_EQ(tokens[0].end, 6u);
  EXPECT_EQ(tokens[1].value, "a");
  EXPECT_EQ(tokens[1].start, 6u);
  EXPECT_EQ(Values(**unigram, ""), (std::vector<std::string>{}));
  EXPECT_EQ((*unigram)->TokenToId("abc"), 5);
  EXPECT_EQ((*unigram)->IdToToken(3), "ab");
  EXPECT_EQ((*unigram)->IdToToken(6), std::nullopt);
}

TEST(UnigramTest, ByteFallbackSpellsUnknownsAsBytes) {
  nlohmann::json model = SmallModel();
  model["byte_fallback"] = true;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    model["vocab"].push_back({name, -20});
  }
  auto unigram = Unigram::FromJson(model);
  ASSERT_TRUE(unigram.ok()) << unigram.status();
  const std::vector<ModelToken> tokens = Tokens(**unigram, "aé");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[1].value, "<0xC3>");
  EXPECT_EQ(tokens[2].value, "<0xA9>");
  EXPECT_EQ(tokens[2].id, 6 + 0xA9);
  // Each byte piece spans the whole unknown piece, as in HF.
  EXPECT_EQ(tokens[1].start, 1u);
  EXPECT_EQ(tokens[1].end, 3u);
  EXPECT_EQ(tokens[2].start, 1u);
}

TEST(UnigramTest, NoUnkIdFailsOnUnknownCharacters) {
  nlohmann::json model = SmallModel();
  model["unk_id"] = nullptr;
  auto unigram = Unigram::FromJson(model);
  ASSERT_TRUE(unigram.ok()) << unigram.status();
  EXPECT_EQ(Values(**unigram, "ab"), (std::vector<std::string>{"ab"}));
  std::vector<ModelToken> tokens;
  const absl::Status status = (*unigram)->Tokenize("az", &tokens);
  EXPECT_THAT(std::string(status.message()), HasSubstr("model.unk_id is null"));
}

std::string ErrorOf(const nlohmann::json& model) {
  auto unigram = Unigram::FromJson(model);
  EXPECT_FALSE(unigram.ok());
  return unigram.ok() ? "" : std::string(unigram.status().message());
}

TEST(UnigramTest, ErrorsNameTheField) {
  nlohmann::json model = SmallModel();
  model["unk_id"] = 6;
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.unk_id is 6 but model.vocab "
                                        "has 6 pieces"));
  model["unk_id"] = -1;
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.unk_id must be an id"));
  model = SmallModel();
  model["vocab"][2] = {"b"};
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.vocab[2] must be [piece, "
                                        "score]"));
  model["vocab"][2] = {"b", "x"};
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.vocab[2] must be"));
  model = SmallModel();
  model["vocab"] = nlohmann::json::array();
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.vocab is empty but "
                                        "model.unk_id is set"));
  model = SmallModel();
  model.erase("vocab");
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.vocab is missing"));
  model = SmallModel();
  model["byte_fallback"] = 1;
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.byte_fallback must be"));
  model = SmallModel();
  model["type"] = "BPE";
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.type must be \"Unigram\""));
}

}  // namespace
}  // namespace attnserve::core::tokenizers
