// Bpe (core/tokenizer/models/bpe.h) against Hugging Face tokenizers' BPE
// model (tests/golden/tokenizer_models.json), plus its tokenizer.json
// errors.
#include "core/tokenizer/models/bpe.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/tokenizer/models/tokenizer_model_golden.h"

namespace attnserve::core::tokenizers {
namespace {

using ::testing::HasSubstr;

TEST(BpeTest, MatchesHuggingFaceOnEveryGoldenModel) {
  const std::vector<nlohmann::json> models = GoldenModelsOfType("BPE");
  ASSERT_GE(models.size(), 14u);
  size_t words = 0;
  for (const nlohmann::json& m : models) {
    SCOPED_TRACE(m["name"].get<std::string>());
    absl::StatusOr<std::unique_ptr<Bpe>> bpe = Bpe::FromJson(m["model"]);
    ASSERT_TRUE(bpe.ok()) << bpe.status();
    ExpectMatchesGolden(**bpe, m, &words);
  }
  EXPECT_GE(words, 1400u);
}

nlohmann::json SmallModel() {
  return nlohmann::json::parse(R"({
    "type": "BPE", "dropout": null, "unk_token": "<unk>",
    "continuing_subword_prefix": null, "end_of_word_suffix": null,
    "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
    "vocab": {"<unk>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "abc": 5, "bc": 6},
    "merges": [["a", "b"], ["ab", "c"], ["b", "c"]]})");
}

std::vector<std::string> Values(const Model& model, const std::string& word) {
  std::vector<ModelToken> tokens;
  EXPECT_TRUE(model.Tokenize(word, &tokens).ok());
  std::vector<std::string> values;
  for (const ModelToken& t : tokens) values.push_back(t.value);
  return values;
}

TEST(BpeTest, MergesByRankAndMapsIds) {
  auto bpe = Bpe::FromJson(SmallModel());
  ASSERT_TRUE(bpe.ok()) << bpe.status();
  EXPECT_EQ((*bpe)->type(), "BPE");
  EXPECT_EQ((*bpe)->VocabSize(), 7u);
  EXPECT_EQ(Values(**bpe, "abc"), (std::vector<std::string>{"abc"}));
  EXPECT_EQ(Values(**bpe, "abcab"), (std::vector<std::string>{"abc", "ab"}));
  EXPECT_EQ(Values(**bpe, "bcz"), (std::vector<std::string>{"bc", "<unk>"}));
  EXPECT_EQ(Values(**bpe, ""), (std::vector<std::string>{}));
  EXPECT_EQ((*bpe)->TokenToId("abc"), 5);
  EXPECT_EQ((*bpe)->TokenToId("zz"), std::nullopt);
  EXPECT_EQ((*bpe)->IdToToken(6), "bc");
  EXPECT_EQ((*bpe)->IdToToken(7), std::nullopt);
  EXPECT_EQ((*bpe)->IdToToken(-1), std::nullopt);
}

TEST(BpeTest, AcceptsStringMergesAndSkipsVersionLine) {
  nlohmann::json model = SmallModel();
  model["merges"] = {"#version: 0.2", "a b", "ab c", "b c"};
  auto bpe = Bpe::FromJson(model);
  ASSERT_TRUE(bpe.ok()) << bpe.status();
  EXPECT_EQ(Values(**bpe, "abcab"), (std::vector<std::string>{"abc", "ab"}));
}

std::string ErrorOf(const nlohmann::json& model) {
  auto bpe = Bpe::FromJson(model);
  EXPECT_FALSE(bpe.ok());
  return bpe.ok() ? "" : std::string(bpe.status().message());
}

TEST(BpeTest, ErrorsNameTheField) {
  nlohmann::json model = SmallModel();
  model["merges"][1] = {"ab", "zz"};
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.merges[1] \"zz\" is not in "
                                        "model.vocab"));
  model = SmallModel();
  model["merges"] = {"a b", "a  b"};
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.merges[1] \"a  b\" is not two"));
  model = SmallModel();
  model["merges"] = {"a b", 3};
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.merges[1] must be"));
  model = SmallModel();
  model["vocab"]["ca"] = 7;
  model["merges"].push_back({"c", "a"});
  model["vocab"].erase("ca");
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.merges[3] the merged piece "
                                        "\"ca\" is not in model.vocab"));
  model = SmallModel();
  model["vocab"]["x"] = -1;
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.vocab[\"x\"] must be an id"));
  model = SmallModel();
  model["vocab"]["x"] = 1.5;
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.vocab[\"x\"] must be an id"));
  model = SmallModel();
  model["vocab"]["x"] = 2000000000;
  EXPECT_THAT(ErrorOf(model), HasSubstr("ids this sparse"));
  model = SmallModel();
  model["fuse_unk"] = "yes";
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.fuse_unk must be true, false"));
  model = SmallModel();
  model["dropout"] = 1.5;
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.dropout must be in [0, 1]"));
  model = SmallModel();
  model["type"] = "Unigram";
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.type must be \"BPE\""));
  model = SmallModel();
  model.erase("merges");
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.merges is missing"));
  model = SmallModel();
  model["vocab"] = nlohmann::json::array();
  EXPECT_THAT(ErrorOf(model), HasSubstr("model.vocab must be an object"));
  EXPECT_THAT(ErrorOf(nlohmann::json::array()),
              HasSubstr("model must be an object"));
  model = SmallModel();
  model["continuing_subword_prefix"] = "###";
  model["merges"] = nlohmann::json::array({nlohmann::json::array({"a", "b"})});
  EXPECT_THAT(ErrorOf(model), HasSubstr("shorter than the "
                                        "continuing_subword_prefix"));
}

TEST(BpeTest, DropoutIsIgnored) {
  nlohmann::json model = SmallModel();
  model["dropout"] = 1.0;  // HF would merge nothing when training
  auto bpe = Bpe::FromJson(model);
  ASSERT_TRUE(bpe.ok()) << bpe.status();
  EXPECT_EQ(Values(**bpe, "abc"), (std::vector<std::string>{"abc"}));
}

TEST(BpeTest, UnknownTokenMissingFromVocabFailsOnlyWhenNeeded) {
  nlohmann::json model = SmallModel();
  model["unk_token"] = "<missing>";
  auto bpe = Bpe::FromJson(model);
  ASSERT_TRUE(bpe.ok()) << bpe.status();
  EXPECT_EQ(Values(**bpe, "ab"), (std::vector<std::string>{"ab"}));
  std::vector<ModelToken> tokens;
  const absl::Status status = (*bpe)->Tokenize("az", &tokens);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("model.unk_token \"<missing>\" is not in model.vocab"));
}

}  // namespace
}  // namespace attnserve::core::tokenizers
