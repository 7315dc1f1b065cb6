// The tokenizer pipeline against HF tokenizers (npm `tokenizers`, the Rust
// library) on small tokenizer.json files that each exercise a normalizer,
// pre-tokenizer, post-processor, decoder or added-token option
// (tests/golden/gen_tokenizer_components.mjs): ids, type ids, token strings,
// byte offsets into the original text, special-token masks, decode output,
// text pairs and longest-first truncation.
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer_json.h"
#include "core/tokenizer/unicode.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {
namespace {

nlohmann::json ReadJson(const std::string& name) {
  std::ifstream in(std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/" + name);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return nlohmann::json::parse(bytes.str());
}

const nlohmann::json& Golden() {
  static const nlohmann::json* const golden =
      new nlohmann::json(ReadJson("tokenizer_components_golden.json"));
  return *golden;
}

// The golden file names sentencepiece charsmaps ("@nmt_nfkc"); they are in
// precompiled_charsmaps.json.
void InsertCharsmaps(nlohmann::json* value) {
  static const nlohmann::json* const charsmaps =
      new nlohmann::json(ReadJson("precompiled_charsmaps.json")["charsmaps"]);
  if (value->is_object()) {
    for (auto& [key, item] : value->items()) {
      if (key == "precompiled_charsmap" && item.is_string()) {
        item = (*charsmaps)[item.get<std::string>().substr(1)];
      } else {
        InsertCharsmaps(&item);
      }
    }
  } else if (value->is_array()) {
    for (auto& item : *value) InsertCharsmaps(&item);
  }
}

std::vector<std::string> Names() {
  std::vector<std::string> names;
  for (const auto& t : Golden()["tokenizers"]) {
    names.push_back(t["name"].get<std::string>());
  }
  return names;
}

const nlohmann::json& Find(const std::string& name) {
  for (const auto& t : Golden()["tokenizers"]) {
    if (t["name"] == name) return t;
  }
  static const nlohmann::json kNull;
  return kNull;
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

class PipelineGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineGoldenTest, EncodesAndDecodesAsHuggingFace) {
  const nlohmann::json& golden = Find(GetParam());
  ASSERT_FALSE(golden.is_null());
  nlohmann::json tokenizer_json = golden["tokenizer"];
  InsertCharsmaps(&tokenizer_json);
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      ParseTokenizerJson(tokenizer_json.dump());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ASSERT_GE(golden["cases"].size(), 40u);
  for (const nlohmann::json& c : golden["cases"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text " + nlohmann::json(text).dump());
    absl::StatusOr<Encoding> encoding = (*tokenizer)->Encode(text, {});
    ASSERT_TRUE(encoding.ok()) << encoding.status();
    ExpectEncoding(*encoding, c);
    EXPECT_EQ(encoding->untruncated_length, encoding->size());
    EncodeOptions bare;
    bare.add_special_tokens = false;
    absl::StatusOr<Encoding> no_special = (*tokenizer)->Encode(text, bare);
    ASSERT_TRUE(no_special.ok()) << no_special.status();
    EXPECT_EQ(no_special->ids, c["no_special_ids"].get<std::vector<int32_t>>());
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
  for (const nlohmann::json& c : golden["truncations"]) {
    const std::string text = c["text"].get<std::string>();
    EncodeOptions options;
    options.max_length = c["max_length"].get<size_t>();
    SCOPED_TRACE("truncation " + c.dump());
    absl::StatusOr<Encoding> encoding =
        c["pair"].is_null()
            ? (*tokenizer)->Encode(text, options)
            : (*tokenizer)
                  ->EncodePair(text, c["pair"].get<std::string>(), options);
    ASSERT_TRUE(encoding.ok()) << encoding.status();
    ExpectEncoding(*encoding, c);
    EXPECT_LE(encoding->size(), options.max_length);
  }
}

// Random code points and random bytes through every configuration: invalid
// UTF-8 is an error naming its offset, valid text never fails, and every
// token's offsets lie within the text, in order of start per sequence.
TEST_P(PipelineGoldenTest, RandomTextsKeepOffsetsInRange) {
  nlohmann::json tokenizer_json = Find(GetParam())["tokenizer"];
  InsertCharsmaps(&tokenizer_json);
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      ParseTokenizerJson(tokenizer_json.dump());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::mt19937 rng(7);
  const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0, 0x7F},        {0x80, 0x7FF},      {0x300, 0x36F},   {0x4E00, 0x4E40},
      {0xAC00, 0xAC20}, {0x1F300, 0x1F320}, {0xFF00, 0xFF60}, {0x2000, 0x206F}};
  for (int iteration = 0; iteration < 200; ++iteration) {
    std::string text;
    const int length = static_cast<int>(rng() % 24);
    if (iteration % 4 == 3) {
      for (int i = 0; i < length; ++i) text.push_back(static_cast<char>(rng()));
    } else {
      for (int i = 0; i < length; ++i) {
        const auto& [lo, hi] = ranges[rng() % ranges.size()];
        AppendUtf8(lo + static_cast<char32_t>(rng() % (hi - lo + 1)), &text);
      }
    }
    SCOPED_TRACE("text " +
                 nlohmann::json(text).dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace));
    absl::StatusOr<Encoding> e = (*tokenizer)->EncodePair(text, "ok", {});
    if (FirstInvalidUtf8(text) >= 0) {
      EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    ASSERT_TRUE(e.ok()) << e.status();
    for (size_t i = 0; i < e->size(); ++i) {
      const size_t limit = e->sequence_ids[i] == 1 ? 2 : text.size();
      EXPECT_LE(e->offsets[i].start, e->offsets[i].end) << "token " << i;
      EXPECT_LE(e->offsets[i].end, limit) << "token " << i;
      if (e->sequence_ids[i] < 0) {
        EXPECT_EQ(e->special_tokens_mask[i], 1);
      }
    }
  }
}

TEST(PipelineGoldenDecoderTest, DecodersDecodeAsHuggingFace) {
  const nlohmann::json& cases = Golden()["decoders"];
  ASSERT_GE(cases.size(), 50u);
  for (const nlohmann::json& c : cases) {
    SCOPED_TRACE("decoder " + c["tokenizer"]["decoder"].dump() + " ids " +
                 c["ids"].dump());
    absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
        ParseTokenizerJson(c["tokenizer"].dump());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ((*tokenizer)->Decode(ids, {}), c["decoded"].get<std::string>());
    DecodeOptions skip;
    skip.skip_special_tokens = true;
    EXPECT_EQ((*tokenizer)->Decode(ids, skip),
              c["decoded_skip_special"].get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, PipelineGoldenTest,
                         ::testing::ValuesIn(Names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace attnserve::core::tokenizers
