// Randomized differential test: random strings (random code points, random
// bytes decoded lossily, every tenth a pair) through attnserve's tokenizers
// and Hugging Face tokenizers, on the trained test tokenizers: ids, type ids,
// byte offsets and decode must be equal. By default the checked-in sample
// (tests/golden/tokenizer_differential.json, 200 strings per tokenizer); the
// long run (tests/golden/run_tokenizer_differential.sh [COUNT] [SEED] does
// both steps) takes the file named by ATTNSERVE_TOKENIZER_DIFFERENTIAL:
//   node tests/golden/diff_tokenizers.mjs --count 10000 --out /tmp/diff.json
//   ATTNSERVE_TOKENIZER_DIFFERENTIAL=/tmp/diff.json
//       build/bin/tokenizer_differential_test   (one command line)
#include <cstdlib>
#include <memory>
#include <string>

#include "core/tokenizer/load_tokenizer.h"
#include "gtest/gtest.h"
#include "tests/core/tokenizer/tokenizer_golden_compare.h"

namespace attnserve::core::tokenizers {
namespace {

TEST(TokenizerDifferentialTest, RandomStringsMatchHuggingFace) {
  const char* path = std::getenv("ATTNSERVE_TOKENIZER_DIFFERENTIAL");
  const nlohmann::json golden = ReadGoldenJson(
      path != nullptr ? path : GoldenPath("tokenizer_differential.json"));
  size_t total = 0;
  for (const auto& [name, cases] : golden["tokenizers"].items()) {
    auto tokenizer = LoadTokenizer(GoldenPath("tokenizers/" + name));
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    size_t mismatches = 0;
    for (const nlohmann::json& c : cases) {
      const std::string diff = CompareWithGolden(**tokenizer, c);
      if (!diff.empty() && ++mismatches <= 5) {
        ADD_FAILURE() << name << ": " << diff;
      }
    }
    EXPECT_EQ(mismatches, 0u) << name << ": " << mismatches << " of "
                              << cases.size() << " strings differ";
    total += cases.size();
  }
  EXPECT_GE(total, 1000u);
  std::printf("compared %zu strings with Hugging Face tokenizers\n", total);
}

}  // namespace
}  // namespace attnserve::core::tokenizers
