#include "core/models/bert/bert_model.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/model/sentence_transformers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Rewrites the JSON header of safetensors `bytes` with `edit`, keeping the
// data.
std::string EditSafetensorsHeader(
    const std::string& bytes,
    const std::function<void(nlohmann::json&)>& edit) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | uint8_t(bytes[i]);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  edit(header);
  const std::string text = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  return out + text + bytes.substr(8 + n);
}

class BertModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/bert_model_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    temp_ = pattern;
  }
  void TearDown() override { fs::remove_all(temp_); }

  // A fresh copy of golden model `name` under the temp dir.
  std::string CopyModel(const std::string& name, const std::string& copy_name) {
    const std::string dir = temp_ + "/" + copy_name;
    fs::copy(kGoldenDir + name, dir, fs::copy_options::recursive);
    return dir;
  }

  std::string temp_;
};

TEST_F(BertModelTest, LoadsSentenceTransformersLayoutWithBareNames) {
  auto model = LoadBertModel(kGoldenDir + "tiny_bert");
  ASSERT_TRUE(model.ok()) << model.status();
  const BertModel& m = **model;
  EXPECT_EQ(m.config.architecture, "BertModel");
  EXPECT_EQ(m.config.hidden_size, 32);
  EXPECT_EQ(m.config.num_layers, 2);
  EXPECT_EQ(m.config.activation, Activation::kGeluErf);
  EXPECT_EQ(m.default_pooling, Pooling::kMean);
  EXPECT_TRUE(m.default_normalize);
  EXPECT_EQ(m.max_length, 64);
  ASSERT_EQ(m.weights.layers.size(), 2u);
  EXPECT_EQ(m.weights.layers[0].qkv.in_features(), 32);
  EXPECT_EQ(m.weights.layers[0].qkv.out_features(), 96);
  EXPECT_EQ(m.weights.layers[1].mlp_up.out_features(), 64);
  EXPECT_EQ(m.weights.word_embeddings.dim(0), m.config.vocab_size);
}

TEST_F(BertModelTest, LoadsPrefixedF16CheckpointIgnoringPoolerAndMlmHead) {
  auto model = LoadBertModel(kGoldenDir + "tiny_bert_prefixed");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->config.architecture, "BertForMaskedLM");
  EXPECT_EQ((*model)->config.activation, Activation::kGeluTanh);
  EXPECT_EQ((*model)->default_pooling, Pooling::kCls);
  EXPECT_FALSE((*model)->default_normalize);
}

struct BadDirectoryCase {
  const char* name;
  std::function<void(const std::string& dir)> damage;
  const char* file;     // the file the message must name
  const char* message;  // and this part of the message
};

TEST_F(BertModelTest, BadDirectoriesGiveErrorsNamingTheFile) {
  auto edit_weights = [](const std::string& dir,
                         std::function<void(nlohmann::json&)> edit) {
    const std::string path = dir + "/model.safetensors";
    WriteFile(path, EditSafetensorsHeader(ReadFile(path), edit));
  };
  auto edit_config = [](const std::string& dir, const char* field,
                        nlohmann::json value) {
    nlohmann::json config =
        nlohmann::json::parse(ReadFile(dir + "/config.json"));
    config[field] = value;
    WriteFile(dir + "/config.json", config.dump());
  };
  const std::string q = "encoder.layer.1.attention.self.query.weight";
  const BadDirectoryCase cases[] = {
      {"missing config.json",
       [](const std::string& d) { fs::remove(d + "/config.json"); },
       "config.json", "file not found"},
      {"missing model.safetensors",
       [](const std::string& d) { fs::remove(d + "/model.safetensors"); },
       "model.safetensors", "file not found"},
      {"only pytorch_model.bin",
       [](const std::string& d) {
         fs::rename(d + "/model.safetensors", d + "/pytorch_model.bin");
       },
       "model.safetensors", "convert it to model.safetensors"},
      {"truncated safetensors",
       [](const std::string& d) {
         const std::string bytes = ReadFile(d + "/model.safetensors");
         WriteFile(d + "/model.safetensors", bytes.substr(0, bytes.size() / 2));
       },
       "model.safetensors", "lie outside the data region"},
      {"safetensors shorter than its header",
       [](const std::string& d) {
         WriteFile(d + "/model.safetensors",
                   ReadFile(d + "/model.safetensors").substr(0, 100));
       },
       "model.safetensors", "header length is"},
      {"offsets outside the file",
       [&](const std::string& d) {
         edit_weights(d, [&](nlohmann::json& h) {
           h[q]["data_offsets"] = {uint64_t(1) << 40,
                                   (uint64_t(1) << 40) + 4096};
         });
       },
       "model.safetensors", "lie outside the data region"},
      {"wrong shape",
       [&](const std::string& d) {
         edit_weights(d, [&](nlohmann::json& h) { h[q]["shape"] = {16, 64}; });
       },
       "model.safetensors",
       "tensor \"encoder.layer.1.attention.self.query.weight\" has shape [16, "
       "64], expected "
       "[32, 32]"},
      {"unsupported dtype",
       [&](const std::string& d) {
         edit_weights(d, [&](nlohmann::json& h) { h[q]["dtype"] = "I32"; });
       },
       "model.safetensors",
       "tensor \"encoder.layer.1.attention.self.query.weight\" has dtype I32"},
      {"missing tensor",
       [&](const std::string& d) {
         edit_weights(d, [&](nlohmann::json& h) {
           h["renamed"] = h[q];
           h.erase(q);
         });
       },
       "model.safetensors",
       "tensor \"encoder.layer.1.attention.self.query.weight\" is missing"},
      {"unsupported activation",
       [&](const std::string& d) { edit_config(d, "hidden_act", "relu6"); },
       "config.json",
       "hidden_act is \"relu6\", expected one of gelu, gelu_new, "
       "gelu_pytorch_tanh, gelu_fast"},
      {"absurd hidden size",
       [&](const std::string& d) { edit_config(d, "hidden_size", 1000000000); },
       "config.json", "hidden_size is 1000000000"},
      {"config not JSON",
       [](const std::string& d) { WriteFile(d + "/config.json", "{oops"); },
       "config.json", "not valid JSON"},
      {"unsupported sentence-transformers module",
       [](const std::string& d) {
         WriteFile(
             d + "/modules.json",
             R"([{"idx":0,"path":"","type":"sentence_transformers.models.Transformer"},
                       {"idx":1,"path":"2_Dense","type":"sentence_transformers.models.Dense"}])");
       },
       "modules.json",
       "module 1 has type \"sentence_transformers.models.Dense\""},
      {"missing pooling config",
       [](const std::string& d) { fs::remove(d + "/1_Pooling/config.json"); },
       "1_Pooling/config.json", "file not found"},
      {"unsupported pooling mode",
       [](const std::string& d) {
         WriteFile(d + "/1_Pooling/config.json",
                   R"({"pooling_mode_mean_sqrt_len_tokens": true})");
       },
       "1_Pooling/config.json",
       "pooling_mode_mean_sqrt_len_tokens is not supported"},
      {"model.safetensors is a FIFO (opening it must not block)",
       [](const std::string& d) {
         fs::remove(d + "/model.safetensors");
         ::mkfifo((d + "/model.safetensors").c_str(), 0600);
       },
       "model.safetensors", "not a regular file"},
      {"config.json is a FIFO",
       [](const std::string& d) {
         fs::remove(d + "/config.json");
         ::mkfifo((d + "/config.json").c_str(), 0600);
       },
       "config.json", "not a regular file"},
      {"config.json is a directory",
       [](const std::string& d) {
         fs::remove(d + "/config.json");
         fs::create_directory(d + "/config.json");
       },
       "config.json", "not a regular file"},
  };
  int index = 0;
  for (const BadDirectoryCase& c : cases) {
    const std::string dir =
        CopyModel("tiny_bert", absl::StrCat("case", index++));
    c.damage(dir);
    auto model = LoadBertModel(dir);
    ASSERT_FALSE(model.ok()) << c.name;
    const std::string message(model.status().message());
    EXPECT_THAT(message, HasSubstr(dir + "/" + c.file)) << c.name;
    EXPECT_THAT(message, HasSubstr(c.message)) << c.name;
  }
}

TEST_F(BertModelTest, DirectoryThatIsAFileOrMissing) {
  WriteFile(temp_ + "/plain_file", "hello");
  auto model = LoadBertModel(temp_ + "/plain_file");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(std::string(model.status().message()),
              HasSubstr(temp_ + "/plain_file: not a directory"));
  model = LoadBertModel(temp_ + "/nothing_here");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(model.status().message()),
              HasSubstr(temp_ + "/nothing_here"));
}

TEST_F(BertModelTest, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  const std::string dir = CopyModel("tiny_bert", "unreadable");
  ::chmod((dir + "/model.safetensors").c_str(), 0);
  auto model = LoadBertModel(dir);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(std::string(model.status().message()),
              HasSubstr(dir + "/model.safetensors"));
}

TEST(SentenceTransformersTest, ParsesPoolingModes) {
  EXPECT_EQ(*ParsePoolingConfig(R"({"pooling_mode_cls_token": true})", "p"),
            Pooling::kCls);
  EXPECT_EQ(*ParsePoolingConfig(R"({"pooling_mode_mean_tokens": true,
                                    "pooling_mode_cls_token": false})",
                                "p"),
            Pooling::kMean);
  EXPECT_EQ(*ParsePoolingConfig(R"({"pooling_mode_max_tokens": true})", "p"),
            Pooling::kMax);
  auto two = ParsePoolingConfig(
      R"({"pooling_mode_max_tokens": true, "pooling_mode_cls_token": true})",
      "p/config.json");
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(std::string(two.status().message()),
              HasSubstr("p/config.json: expected exactly one"));
  auto modules = ParseModulesJson(
      R"([{"type":"sentence_transformers.models.Transformer","path":""},
          {"type":"sentence_transformers.models.Pooling","path":"1_Pooling"}])");
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_EQ(modules->pooling_path, "1_Pooling");
  EXPECT_FALSE(modules->normalize);
  auto escape =
      ParseModulesJson(R"([{"type":"sentence_transformers.models.Pooling",
                                      "path":"../../etc"}])");
  EXPECT_FALSE(escape.ok());
}

}  // namespace
}  // namespace attnserve::core
