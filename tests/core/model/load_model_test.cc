#include "core/model/load_model.h"

#include <string>

#include "core/models/bert/bert_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

}  // namespace
}  // namespace attnserve::core
