#include "core/model/load_model.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/models/bert/bert_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/";

TEST(SelectModelLoaderTest, ByModelTypeElseByArchitecture) {
  auto loader = SelectModelLoader(R"({"model_type": "bert"})");
  ASSERT_TRUE(loader.ok()) << loader.status();
  EXPECT_STREQ((*loader)->model_type, "bert");
  loader = SelectModelLoader(R"({"architectures": ["BertForMaskedLM"]})");
  ASSERT_TRUE(loader.ok()) << loader.status();
  EXPECT_STREQ((*loader)->model_type, "bert");
}

TEST(SelectModelLoaderTest, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{"{oops", "config.json: not valid JSON"},
           Case{"[]", "config.json: not a JSON object"},
           Case{R"({"model_type": 3})",
                "config.json: model_type is not a string"},
           Case{R"({"architectures": "BertModel"})",
                "config.json: architectures is not a list of strings"},
           Case{R"({"model_type": "gpt2"})",
                "config.json: model_type is \"gpt2\", expected "
                "one of \"bert\", \"roberta\", \"xlm-roberta\", \"camembert\", "
                "\"mpnet\", \"nomic_bert\", \"modernbert\""},
           Case{R"({"architectures": ["GPT2Model"]})",
                "config.json: expected a model_type (one of \"bert\", "
                "\"roberta\", \"xlm-roberta\", \"camembert\", \"mpnet\", "
                "\"nomic_bert\", \"modernbert\") or an "
                "architectures entry Bert*, Roberta*, XLMRoberta*, Camembert*, "
                "MPNet*, NomicBert*, ModernBert*"},
       }) {
    auto loader = SelectModelLoader(c.json);
    ASSERT_FALSE(loader.ok()) << c.json;
    EXPECT_EQ(loader.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(loader.status().message(), c.message) << c.json;
  }
}

// The table's loader gives the same model as the BERT loader itself.
TEST(LoadEncoderModelTest, LoadsBertThroughTheTable) {
  auto model = LoadEncoderModel(kGoldenDir + "tiny_bert");
  ASSERT_TRUE(model.ok()) << model.status();
  auto bert = LoadBertModel(kGoldenDir + "tiny_bert");
  ASSERT_TRUE(bert.ok()) << bert.status();
  const ModelInfo info = (*model)->info();
  EXPECT_EQ(info.architecture, (*bert)->config.architecture);
  EXPECT_EQ(info.hidden_size, (*bert)->config.hidden_size);
  EXPECT_EQ(info.num_layers, (*bert)->config.num_layers);
  EXPECT_EQ(info.max_length, (*bert)->max_length);
  PackedBatch batch;
  batch.token_ids = {2, 7, 9, 3};
  batch.offsets = {0, 4};
  auto a = (*model)->Encode(batch, EncodeOptions());
  auto b = Encode(**bert, batch, EncodeOptions());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->hidden.num_elements(), b->hidden.num_elements());
  for (int64_t i = 0; i < a->hidden.num_elements(); ++i) {
    EXPECT_EQ(a->hidden.data<float>()[i], b->hidden.data<float>()[i]);
  }
}

TEST(LoadEncoderModelTest, ConfigErrorsNameTheDirectory) {
  auto model = LoadEncoderModel(kGoldenDir + "tokenizers");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(std::string(model.status().message()),
              HasSubstr(kGoldenDir + "tokenizers/config.json"));
}

// The model table: every model_type of the loader table loads a golden
// directory through LoadEncoderModel and reports its architecture and sizes
// (config.json's); a model_type not in the table fails naming config.json.
class ModelTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/load_model_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    temp_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(temp_); }

  // A copy of golden directory `dir` whose config.json has `patch` merged
  // in.
  std::string PatchedCopy(const std::string& dir, const nlohmann::json& patch) {
    const std::string copy = temp_ + "/" + std::to_string(copies_++);
    std::filesystem::copy(kGoldenDir + dir, copy,
                          std::filesystem::copy_options::recursive);
    nlohmann::json config = ReadConfig(copy);
    config.merge_patch(patch);
    std::ofstream(copy + "/config.json", std::ios::trunc) << config.dump();
    return copy;
  }

  static nlohmann::json ReadConfig(const std::string& dir) {
    std::ifstream in(dir + "/config.json");
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str());
  }

  std::string temp_;
  int copies_ = 0;
};

TEST_F(ModelTableTest, EveryModelTypeLoadsAndReportsItsArchitecture) {
  // model_type -> a golden directory of that type and its architecture.
  struct Golden {
    std::string dir;
    nlohmann::json patch;  // merged into the directory's config.json
    std::string architecture;
  };
  const std::map<std::string, Golden> golden = {
      {"bert", {"tiny_bert", nullptr, "BertModel"}},
      {"roberta", {"models/roberta", nullptr, "RobertaForMaskedLM"}},
      {"xlm-roberta", {"models/xlm_roberta", nullptr, "XLMRobertaModel"}},
      // No CamemBERT golden model: XLM-R's weights under its model_type.
      {"camembert",
       {"models/xlm_roberta",
        {{"model_type", "camembert"}, {"architectures", {"CamembertModel"}}},
        "CamembertModel"}},
      {"mpnet", {"models/mpnet", nullptr, "MPNetForMaskedLM"}},
      {"nomic_bert", {"models/nomic_bert", nullptr, "NomicBertModel"}},
      {"modernbert", {"models/modernbert", nullptr, "ModernBertForMaskedLM"}},
  };
  ASSERT_EQ(ModelLoaders().size(), golden.size());
  for (const ModelLoader& loader : ModelLoaders()) {
    SCOPED_TRACE(loader.model_type);
    auto it = golden.find(loader.model_type);
    ASSERT_NE(it, golden.end()) << "no golden directory for this model_type";
    const std::string dir = it->second.patch.is_null()
                                ? kGoldenDir + it->second.dir
                                : PatchedCopy(it->second.dir, it->second.patch);
    const nlohmann::json config = ReadConfig(dir);
    EXPECT_EQ(config["model_type"], loader.model_type);
    auto model = LoadEncoderModel(dir);
    ASSERT_TRUE(model.ok()) << model.status();
    const ModelInfo info = (*model)->info();
    EXPECT_EQ(info.architecture, it->second.architecture);
    // NomicBERT's config.json uses GPT-2's names.
    auto size = [&](const char* name, const char* gpt2_name) {
      return config.value(name, config.value(gpt2_name, int64_t{-1}));
    };
    EXPECT_EQ(info.hidden_size, size("hidden_size", "n_embd"));
    EXPECT_EQ(info.num_layers, size("num_hidden_layers", "n_layer"));
    EXPECT_EQ(info.num_heads, size("num_attention_heads", "n_head"));
    // NomicBERT rounds its vocabulary up to pad_vocab_size_multiple.
    EXPECT_GE(info.vocab_size, config["vocab_size"].get<int64_t>());
    EXPECT_LT(info.vocab_size, config["vocab_size"].get<int64_t>() + 64);
  }
}

TEST_F(ModelTableTest, UnknownModelTypeFailsNamingConfigJson) {
  const std::string dir = PatchedCopy(
      "tiny_bert", {{"model_type", "t5"}, {"architectures", {"T5Model"}}});
  auto model = LoadEncoderModel(dir);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()),
              HasSubstr(dir + "/config.json: model_type is \"t5\", expected "
                              "one of \"bert\""));
}

}  // namespace
}  // namespace attnserve::core
