#ifndef ATTNSERVE_TESTS_CORE_TOKENIZER_MODELS_TOKENIZER_MODEL_GOLDEN_H_
#define ATTNSERVE_TESTS_CORE_TOKENIZER_MODELS_TOKENIZER_MODEL_GOLDEN_H_

// Golden outputs of Hugging Face tokenizers' models (npm `tokenizers`, the
// Rust library) on synthetic BPE and Unigram models: tests/golden/
// tokenizer_models.json from tests/golden/gen_tokenizer_models.mjs.

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/tokenizer/models/model.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {

inline nlohmann::json ReadModelsGolden() {
  std::ifstream in(std::string(ATTNSERVE_SOURCE_DIR) +
                   "/tests/golden/tokenizer_models.json");
  std::stringstream bytes;
  bytes << in.rdbuf();
  return nlohmann::json::parse(bytes.str());
}

// The golden models whose model.type is `type`.
inline std::vector<nlohmann::json> GoldenModelsOfType(const std::string& type) {
  const nlohmann::json golden = ReadModelsGolden();
  std::vector<nlohmann::json> out;
  for (const nlohmann::json& m : golden["models"]) {
    if (m["model"]["type"] == type) out.push_back(m);
  }
  return out;
}

// The offsets HF's pipeline reports (npm `tokenizers`) for a model token at
// bytes [start, end) of a word without normalizer: NormalizedString::
// convert_offsets widens a non-empty range inside the word to whole
// characters, then BytesToCharOffsetConverter turns bytes into code points.
inline std::pair<size_t, size_t> ReportedOffsets(const std::string& word,
                                                 size_t start, size_t end) {
  std::vector<long> char_of_byte;            // byte -> index of its code point
  std::vector<size_t> char_start, char_end;  // byte -> its character's bytes
  long index = -1;
  for (size_t b = 0; b < word.size(); ++b) {
    if ((static_cast<unsigned char>(word[b]) & 0xC0) != 0x80) {
      ++index;
      char_start.push_back(b);
    } else {
      char_start.push_back(char_start.back());
    }
    char_of_byte.push_back(index);
  }
  char_end.resize(word.size());
  for (size_t b = word.size(); b-- > 0;) {
    char_end[b] = b + 1 == word.size() || char_start[b + 1] != char_start[b]
                      ? b + 1
                      : char_end[b + 1];
  }
  if (start < end && end <= word.size()) {
    std::tie(start, end) = std::make_pair(char_start[start], char_end[end - 1]);
  }
  auto get = [&](size_t b) {
    return b < char_of_byte.size() ? char_of_byte[b] : -1;
  };
  const long s = get(start);
  if (s < 0) return {start, end};
  if (const long e = get(end); e >= 0) return {s, e};
  const long last = end > 0 ? get(end - 1) : -1;
  return {s, (last >= 0 ? last : s + 1) + 1};
}

inline std::string Printable(const std::string& text) {
  return nlohmann::json(text).dump();
}

// Runs `model` on every word of the golden case `m` and compares ids, values
// and offsets (bytes where the golden has them, code points always); a word
// HF fails on must fail here too. Adds the number of words to *compared.
inline void ExpectMatchesGolden(const Model& model, const nlohmann::json& m,
                                size_t* compared) {
  for (const nlohmann::json& c : m["cases"]) {
    const std::string word = c["word"].get<std::string>();
    SCOPED_TRACE(m["name"].get<std::string>() + " word " + Printable(word));
    std::vector<ModelToken> tokens;
    const absl::Status status = model.Tokenize(word, &tokens);
    ++*compared;
    if (c.contains("error")) {
      EXPECT_FALSE(status.ok()) << "HF fails: " << c["error"];
      continue;
    }
    ASSERT_TRUE(status.ok()) << status;
    const nlohmann::json& expected = c["tokens"];
    ASSERT_EQ(tokens.size(), expected.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
      const nlohmann::json& e = expected[i];
      SCOPED_TRACE("token " + std::to_string(i));
      EXPECT_EQ(tokens[i].id, e[0].get<int32_t>());
      EXPECT_EQ(tokens[i].value, e[1].get<std::string>());
      const auto code_points =
          ReportedOffsets(word, tokens[i].start, tokens[i].end);
      EXPECT_EQ(code_points.first, e[2].get<size_t>());
      EXPECT_EQ(code_points.second, e[3].get<size_t>());
      if (e.size() == 6) {
        EXPECT_EQ(tokens[i].start, e[4].get<size_t>());
        EXPECT_EQ(tokens[i].end, e[5].get<size_t>());
      }
    }
  }
}

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_TESTS_CORE_TOKENIZER_MODELS_TOKENIZER_MODEL_GOLDEN_H_
