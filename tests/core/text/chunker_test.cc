#include "core/text/chunker.h"

#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// [CLS] w0 .. w{n-1} [SEP] with ids 100 + i and word i at bytes [3i, 3i + 2).
tokenizers::Encoding Words(int n) {
  tokenizers::Encoding e;
  e.ids.push_back(2);
  e.sequence_ids.push_back(-1);
  e.offsets.push_back({0, 0});
  for (int i = 0; i < n; ++i) {
    e.ids.push_back(100 + i);
    e.sequence_ids.push_back(0);
    e.offsets.push_back({uint32_t(3 * i), uint32_t(3 * i + 2)});
  }
  e.ids.push_back(3);
  e.sequence_ids.push_back(-1);
  e.offsets.push_back({0, 0});
  e.untruncated_length = e.ids.size();
  return e;
}

TEST(ChunkEncodingTest, WindowsWithOverlapAndAShorterLast) {
  // 10 words, max 6 tokens: windows of 4 words advancing by 3 (overlap 1):
  // words 0-3, 3-6, 6-9 (the last window reaches the end).
  const std::vector<TextChunk> chunks = ChunkEncoding(Words(10), {6, 1});
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_THAT(chunks[0].ids, ElementsAre(2, 100, 101, 102, 103, 3));
  EXPECT_THAT(chunks[1].ids, ElementsAre(2, 103, 104, 105, 106, 3));
  EXPECT_THAT(chunks[2].ids, ElementsAre(2, 106, 107, 108, 109, 3));
  EXPECT_EQ(chunks[0].start, 0u);
  EXPECT_EQ(chunks[0].end, 11u);
  EXPECT_EQ(chunks[1].start, 9u);
  EXPECT_EQ(chunks[2].end, 29u);
  // 11 words: a fourth window holds word 9-10 only.
  const std::vector<TextChunk> more = ChunkEncoding(Words(11), {6, 1});
  ASSERT_EQ(more.size(), 4u);
  EXPECT_THAT(more[3].ids, ElementsAre(2, 109, 110, 3));
}

TEST(ChunkEncodingTest, ATextThatFitsIsOneChunk) {
  std::vector<TextChunk> chunks = ChunkEncoding(Words(4), {6, 0});
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].ids, Words(4).ids);
  EXPECT_EQ(chunks[0].start, 0u);
  EXPECT_EQ(chunks[0].end, 11u);
  chunks = ChunkEncoding(Words(0), {6, 0});  // the empty text: specials only
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_THAT(chunks[0].ids, ElementsAre(2, 3));
  EXPECT_EQ(chunks[0].end, 0u);
}

TEST(ChunkEncodingTest, RandomizedWindowsCoverTheTextInOrder) {
  std::mt19937 rng(17);
  for (int round = 0; round < 500; ++round) {
    const int n = int(rng() % 200);
    const size_t max_tokens = 3 + rng() % 40;
    const size_t overlap = rng() % (max_tokens - 2);
    ASSERT_TRUE(CheckChunking({max_tokens, overlap}, 2).ok());
    const std::vector<TextChunk> chunks =
        ChunkEncoding(Words(n), {max_tokens, overlap});
    if (size_t(n) + 2 <= max_tokens) {
      ASSERT_EQ(chunks.size(), 1u);
      continue;
    }
    const size_t window = max_tokens - 2, step = window - overlap;
    int expected_first = 0;
    for (size_t c = 0; c < chunks.size(); ++c) {
      const std::vector<int32_t>& ids = chunks[c].ids;
      ASSERT_LE(ids.size(), max_tokens);
      ASSERT_EQ(ids.front(), 2);
      ASSERT_EQ(ids.back(), 3);
      ASSERT_EQ(ids[1], 100 + expected_first) << "chunk " << c;
      for (size_t k = 1; k + 1 < ids.size(); ++k) {
        ASSERT_EQ(ids[k], ids[1] + int(k - 1));  // consecutive words
      }
      const int last_word = ids[ids.size() - 2] - 100;
      ASSERT_EQ(chunks[c].start, uint32_t(3 * expected_first));
      ASSERT_EQ(chunks[c].end, uint32_t(3 * last_word + 2));
      if (c + 1 < chunks.size()) {
        ASSERT_EQ(ids.size(), max_tokens);  // only the last is shorter
      } else {
        ASSERT_EQ(last_word, n - 1);  // the last reaches the end
      }
      expected_first += int(step);
    }
  }
}

TEST(CheckChunkingTest, SettingsThatCannotAdvance) {
  EXPECT_TRUE(CheckChunking({3, 0}, 2).ok());
  EXPECT_THAT(CheckChunking({2, 0}, 2).message(),
              HasSubstr("chunking.max_tokens is 2"));
  EXPECT_THAT(CheckChunking({6, 4}, 2).message(),
              HasSubstr("chunking.overlap is 4"));
  EXPECT_TRUE(CheckChunking({6, 3}, 2).ok());
}

}  // namespace
}  // namespace attnserve::core
