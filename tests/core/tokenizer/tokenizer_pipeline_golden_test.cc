// Whole tokenizers (trained by tests/golden/make_trained_tokenizers.mjs and
// make_sentencepiece_tokenizer.py: byte-level BPE like RoBERTa, byte-fallback
// BPE like Llama, Unigram + Metaspace, WordPiece, XLM-R's sentencepiece
// Unigram with its Precompiled charsmap) loaded from their model directories
// and run through the pipeline, against HF tokenizers' (npm `tokenizers`)
// ids, type ids, tokens, byte offsets, special-tokens masks and decode on a
// multilingual corpus and text pairs (tests/golden/gen_tokenizer_pipeline.mjs).
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/tokenizer/load_tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {
namespace {

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden";

const nlohmann::json& Golden() {
  static const nlohmann::json* const golden = [] {
    std::ifstream in(kGoldenDir + "/tokenizer_pipeline_golden.json");
    std::stringstream bytes;
    bytes << in.rdbuf();
    return new nlohmann::json(nlohmann::json::parse(bytes.str()));
  }();
  return *golden;
}

void ExpectEncoding(const Encoding& got, const nlohmann::json& want) {
  EXPECT_EQ(got.ids, want["ids"].get<std::vector<int32_t>>());
  EXPECT_EQ(got.type_ids, want["type_ids"].get<std::vector<uint32_t>>());
  EXPECT_EQ(got.tokens, want["tokens"].get<std::vector<std::string>>());
  std::vector<std::vector<uint32_t>> offsets;
  for (const Offsets& o : got.offsets) offsets.push_back({o.start, o.end});
  EXPECT_EQ(offsets, want["offsets"].get<std::vector<std::vector<uint32_t>>>());
  std::vector<uint32_t> mask(got.special_tokens_mask.begin(),
                             got.special_tokens_mask.end());
  EXPECT_EQ(mask, want["special_tokens_mask"].get<std::vector<uint32_t>>());
}

class TokenizerPipelineGoldenTest
    : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerPipelineGoldenTest, MatchesHuggingFace) {
  const nlohmann::json& golden = Golden()["tokenizers"][GetParam()];
  absl::StatusOr<std::shared_ptr<const Tokenizer>> tokenizer =
      LoadTokenizer(kGoldenDir + "/tokenizers/" + GetParam());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ASSERT_GE(golden["singles"].size(), 100u);
  for (const nlohmann::json& c : golden["singles"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text " + nlohmann::json(text).dump());
    absl::StatusOr<Encoding> encoding = (*tokenizer)->Encode(text, {});
    ASSERT_TRUE(encoding.ok()) << encoding.status();
    ExpectEncoding(*encoding, c);
    EXPECT_EQ((*tokenizer)->Decode(encoding->ids, {}),
              c["decoded"].get<std::string>());
    DecodeOptions skip;
    skip.skip_special_tokens = true;
    EXPECT_EQ((*tokenizer)->Decode(encoding->ids, skip),
              c["decoded_skip_special"].get<std::string>());
  }
  for (const nlohmann::json& c : golden["pairs"]) {
    const std::string text = c["text"].get<std::string>();
    const std::string pair = c["pair"].get<std::string>();
    SCOPED_TRACE("pair " + nlohmann::json({text, pair}).dump());
    absl::StatusOr<Encoding> encoding =
        (*tokenizer)->EncodePair(text, pair, {});
    ASSERT_TRUE(encoding.ok()) << encoding.status();
    ExpectEncoding(*encoding, c);
  }
}

// One tokenizer shared by threads (as gRPC threads share it): every thread
// gets the golden answers (Oniguruma regexes, the charsmap trie and the
// models are read-only after loading).
TEST_P(TokenizerPipelineGoldenTest, ConcurrentEncodesAgree) {
  const nlohmann::json& golden = Golden()["tokenizers"][GetParam()];
  absl::StatusOr<std::shared_ptr<const Tokenizer>> tokenizer =
      LoadTokenizer(kGoldenDir + "/tokenizers/" + GetParam());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (const nlohmann::json& c : golden["singles"]) {
          absl::StatusOr<Encoding> e =
              (*tokenizer)->Encode(c["text"].get<std::string>(), {});
          if (!e.ok() || e->ids != c["ids"].get<std::vector<int32_t>>()) {
            ++mismatches[t];
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, TokenizerPipelineGoldenTest,
                         ::testing::Values("roberta-bpe", "llama-bpe",
                                           "unigram-metaspace", "wordpiece",
                                           "xlmr-sentencepiece"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace attnserve::core::tokenizers
