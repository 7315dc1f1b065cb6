// Text pairs with LongestFirst truncation against HF's `tokenizers` (npm
// tokenizers, tests/golden/gen_tasks_pairs.mjs ->
// tests/golden/tasks/pairs.json): the (query, text) pairs the golden
// classifiers are tested on, untruncated and cut to the model's max length,
// both segments long included: pairs whose segments both exceed the max
// length, where HF tokenizes each segment only up to the max length before
// LongestFirst compares them (tokenize_with_limit), and a segment of added
// tokens.
#include <string>
#include <vector>

#include "core/base/file_util.h"
#include "core/tokenizer/load_tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {
namespace {

TEST(PairTruncationGoldenTest, IdsAndTypesMatchHfTokenizers) {
  const std::string golden =
      std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/";
  absl::StatusOr<std::string> text =
      ReadFile(golden + "tasks/pairs.json", 16 << 20);
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json pairs = nlohmann::json::parse(*text);
  std::vector<std::pair<std::string, std::string>> inputs;
  for (const auto& t : pairs["texts"]) {
    inputs.emplace_back(pairs["query"].get<std::string>(),
                        t.get<std::string>());
  }
  for (const auto& p : pairs["long_pairs"]) {
    inputs.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
  }
  int checked = 0;
  for (const auto& [model, entry] : pairs["models"].items()) {
    absl::StatusOr<std::shared_ptr<const Tokenizer>> tokenizer = LoadTokenizer(
        golden + "tokenizers/" + entry["tokenizer"].get<std::string>());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    for (const char* key : {"untruncated", "truncated"}) {
      EncodeOptions options;
      if (std::string(key) == "truncated") {
        options.max_length = entry["max_length"].get<size_t>();
      }
      for (size_t i = 0; i < inputs.size(); ++i) {
        SCOPED_TRACE(model + " " + key + " pair " + std::to_string(i));
        absl::StatusOr<Encoding> e =
            (*tokenizer)
                ->EncodePair(inputs[i].first, inputs[i].second, options);
        ASSERT_TRUE(e.ok()) << e.status();
        EXPECT_EQ(e->ids, entry[key][i]["ids"].get<std::vector<int32_t>>());
        EXPECT_EQ(e->type_ids,
                  entry[key][i]["type_ids"].get<std::vector<uint32_t>>());
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 3 * 2 * int(inputs.size()));
  EXPECT_GE(inputs.size(), 20u);
}

}  // namespace
}  // namespace attnserve::core::tokenizers
