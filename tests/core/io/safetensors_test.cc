#include "core/io/safetensors.h"

#include <cstring>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/";

// A safetensors file: 8-byte little-endian header length, header, `data_bytes`
// zero bytes.
std::string MakeFile(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

TEST(SafetensorsTest, ConvertsF16AndBF16LikeTorch) {
  auto file =
      SafetensorsFile::Open(kGoldenDir + "safetensors_dtypes.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  const SafetensorsHeader& header = (*file)->header();
  EXPECT_EQ(header.Find("__metadata__"), nullptr);
  for (const auto& [stored, expected] :
       {std::pair<const char*, const char*>{"a_f32", "a_f32"},
        {"a_f16", "a_f16_as_f32"},
        {"a_bf16", "a_bf16_as_f32"}}) {
    const SafetensorsTensorInfo* info = header.Find(stored);
    const SafetensorsTensorInfo* want = header.Find(expected);
    ASSERT_NE(info, nullptr) << stored;
    ASSERT_NE(want, nullptr) << expected;
    EXPECT_EQ(info->shape, (std::vector<int64_t>{3, 5}));
    const Tensor got = SafetensorsToFloat((*file)->bytes(), *info);
    const Tensor reference = SafetensorsToFloat((*file)->bytes(), *want);
    for (int64_t i = 0; i < got.num_elements(); ++i) {
      EXPECT_EQ(got.data<float>()[i], reference.data<float>()[i])
          << stored << " element " << i;
    }
  }
  const SafetensorsTensorInfo* empty = header.Find("empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(SafetensorsToFloat((*file)->bytes(), *empty).num_elements(), 0);
}

struct BadFileCase {
  const char* name;
  std::string bytes;
  const char* message;
};

TEST(SafetensorsTest, RejectsMalformedFilesWithAMessageNamingFileAndTensor) {
  const std::string ok_entry =
      R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
  std::string huge_length = MakeFile("{}", 0);
  huge_length[7] = 0x7f;
  const BadFileCase cases[] = {
      {"too short", std::string("\x02\x00\x00", 3), "at least 8"},
      {"header longer than file", MakeFile("{}", 0).substr(0, 9),
       "header length is 2"},
      {"header length absurd", huge_length, "header length is"},
      {"header not JSON", MakeFile("{\"w\":", 0), "not valid JSON"},
      {"header not an object", MakeFile("[1,2]", 0), "not a JSON object"},
      {"unsupported dtype",
       MakeFile(R"({"w":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}})",
                24),
       "tensor \"w\" has dtype I64, expected one of F32, F16, BF16"},
      {"missing dtype",
       MakeFile(R"({"w":{"shape":[3],"data_offsets":[0,12]}})", 12),
       "tensor \"w\" has no string field \"dtype\""},
      {"negative dim",
       MakeFile(R"({"w":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}})",
                12),
       "tensor \"w\" shape[0] is -3"},
      {"offsets outside the file", MakeFile("{" + ok_entry + "}", 20),
       "tensor \"w\" data_offsets [0, 24] lie outside the data region of 20 "
       "bytes"},
      {"offsets reversed",
       MakeFile(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})",
                12),
       "lie outside"},
      {"byte count mismatch",
       MakeFile(R"({"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,24]}})",
                24),
       "span 24 bytes, expected 12"},
      {"overlap",
       MakeFile(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                24),
       "tensors \"a\" and \"b\" overlap"},
      {"huge shape",
       MakeFile(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],)"
                R"("data_offsets":[0,4]}})",
                4),
       "elements"},
      {"offsets not a pair",
       MakeFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
       "data_offsets is not [begin, end]"},
  };
  for (const BadFileCase& c : cases) {
    auto header = ParseSafetensors(c.bytes, "dir/model.safetensors");
    ASSERT_FALSE(header.ok()) << c.name;
    EXPECT_EQ(header.status().code(), absl::StatusCode::kInvalidArgument)
        << c.name;
    EXPECT_THAT(std::string(header.status().message()),
                HasSubstr("dir/model.safetensors: "))
        << c.name;
    EXPECT_THAT(std::string(header.status().message()), HasSubstr(c.message))
        << c.name;
  }
}

TEST(SafetensorsTest, AcceptsMetadataAndEmptyTensors) {
  auto header = ParseSafetensors(
      MakeFile(
          R"({"__metadata__":{"format":"pt"},"e":{"dtype":"BF16","shape":[0,5],)"
          R"("data_offsets":[0,0]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
          8),
      "f");
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_EQ(header->tensors.size(), 2u);
  EXPECT_EQ(header->Find("w")->end - header->Find("w")->begin, 8u);
}

// Every prefix of a valid file and random byte corruptions of its header are
// rejected or accepted without crashing; accepted tensors stay inside the file.
TEST(SafetensorsTest, TruncatedAndCorruptedFilesNeverCrash) {
  auto file =
      SafetensorsFile::Open(kGoldenDir + "safetensors_dtypes.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  const std::string bytes((*file)->bytes());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto header = ParseSafetensors(absl::string_view(bytes).substr(0, n), "f");
    EXPECT_FALSE(header.ok()) << "prefix of " << n << " bytes";
  }
  std::mt19937 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string corrupted = bytes;
    for (int k = 0; k < 3; ++k) {
      corrupted[rng() % 400] = char(rng() % 256);
    }
    auto header = ParseSafetensors(corrupted, "f");
    if (!header.ok()) continue;
    for (const SafetensorsTensorInfo& t : header->tensors) {
      EXPECT_LE(t.end, corrupted.size());
      EXPECT_LE(t.begin, t.end);
    }
  }
}

TEST(SafetensorsTest, OpenNamesThePathOfMissingOrNonRegularFiles) {
  auto missing = SafetensorsFile::Open("/nonexistent/model.safetensors");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("/nonexistent/model.safetensors"));
  auto directory = SafetensorsFile::Open(kGoldenDir);
  ASSERT_FALSE(directory.ok());
  EXPECT_THAT(std::string(directory.status().message()),
              HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace attnserve::core
