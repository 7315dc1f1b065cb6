#include "core/model/sentence_transformers.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;
using Prompts = std::vector<std::pair<std::string, std::string>>;

TEST(ParsePromptsConfigTest, KeepsTheFileOrderAndTheDefault) {
  absl::StatusOr<SentenceTransformersPrompts> parsed = ParsePromptsConfig(
      R"({"__version__": {"sentence_transformers": "3.0.1"},
          "prompts": {"search_query": "search_query: ",
                      "classification": "classification: ",
                      "search_document": "search_document: "},
          "default_prompt_name": "search_document",
          "similarity_fn_name": "cosine"})",
      "c.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->prompts,
            (Prompts{{"search_query", "search_query: "},
                     {"classification", "classification: "},
                     {"search_document", "search_document: "}}));
  EXPECT_EQ(parsed->default_prompt_name, "search_document");
}

TEST(ParsePromptsConfigTest, NoPromptsAndNullDefault) {
  absl::StatusOr<SentenceTransformersPrompts> parsed = ParsePromptsConfig(
      R"({"prompts": {}, "default_prompt_name": null})", "c.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->prompts.empty());
  EXPECT_EQ(parsed->default_prompt_name, "");
  parsed = ParsePromptsConfig("{}", "c.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->prompts.empty());
}

TEST(ParsePromptsConfigTest, ErrorsNameTheFileAndTheField) {
  EXPECT_THAT(ParsePromptsConfig("[1]", "c.json").status().message(),
              HasSubstr("c.json: expected a JSON object"));
  EXPECT_THAT(ParsePromptsConfig(R"({"prompts": ["query: "]})", "c.json")
                  .status()
                  .message(),
              HasSubstr("c.json: \"prompts\" is not an object"));
  EXPECT_THAT(ParsePromptsConfig(R"({"prompts": {"q": 3}})", "c.json")
                  .status()
                  .message(),
              HasSubstr("prompts[\"q\"] is 3, expected a string"));
  EXPECT_THAT(
      ParsePromptsConfig(
          R"({"prompts": {"q": "q: "}, "default_prompt_name": "d"})", "c.json")
          .status()
          .message(),
      HasSubstr("default_prompt_name \"d\" is not a key of prompts"));
  EXPECT_THAT(ParsePromptsConfig(R"({"default_prompt_name": 1})", "c.json")
                  .status()
                  .message(),
              HasSubstr("default_prompt_name is 1"));
}

}  // namespace
}  // namespace attnserve::core
