// The classifier heads on the golden classifiers of tests/golden/tasks/
// (gen_tasks.py): the encoder plus head on the npm `tokenizers` pair
// encodings of tasks/pairs.json against the float64 torch logits.
#include "core/model/heads/classifier_head.h"

#include <string>
#include <vector>

#include "core/base/file_util.h"
#include "core/model/load_model.h"
#include "core/model/model_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

const std::string kTasks =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/tasks/";

nlohmann::json ReadJson(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, 64 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  return nlohmann::json::parse(text.value_or("null"));
}

class ClassifierGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ClassifierGoldenTest, LogitsMatchTheTorchReference) {
  const std::string name = GetParam();
  const std::string dir = kTasks + name + "/";
  absl::StatusOr<std::shared_ptr<const EncoderModel>> encoder =
      LoadEncoderModel(dir);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  absl::StatusOr<std::string> config = ReadModelConfig(dir);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<const ClassifierHead>> head =
      ClassifierHead::Load(dir, *config, (*encoder)->info().hidden_size);
  ASSERT_TRUE(head.ok()) << head.status();

  const nlohmann::json pairs = ReadJson(kTasks + "pairs.json")["models"][name];
  const nlohmann::json expected = ReadJson(dir + "expected.json");
  int checked = 0;
  for (const char* key : {"untruncated", "truncated"}) {
    for (size_t p = 0; p < pairs[key].size(); ++p) {
      if (expected[key][p].is_null()) continue;  // longer than the model
      // All pairs packed in one batch would be the server's way; one at a
      // time here keeps failures readable (the e2e test batches).
      PackedBatch batch;
      batch.token_ids = pairs[key][p]["ids"].get<std::vector<int32_t>>();
      batch.token_type_ids =
          pairs[key][p]["type_ids"].get<std::vector<int32_t>>();
      bool any_type = false;
      for (int32_t t : batch.token_type_ids) any_type |= t != 0;
      if (!any_type) batch.token_type_ids.clear();
      batch.offsets = {0, int64_t(batch.token_ids.size())};
      absl::StatusOr<EncoderOutput> out =
          (*encoder)->Encode(batch, EncodeOptions());
      ASSERT_TRUE(out.ok()) << out.status();
      const std::vector<float> logits = (*head)->Logits(out->hidden);
      const std::vector<double> want =
          expected[key][p].get<std::vector<double>>();
      ASSERT_EQ(logits.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k) {
        EXPECT_NEAR(logits[k], want[k], 1e-5)
            << name << " " << key << " pair " << p << " label " << k;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);
}

INSTANTIATE_TEST_SUITE_P(Classifiers, ClassifierGoldenTest,
                         ::testing::Values("bert_rerank", "xlmr_nli",
                                           "modernbert_rerank"));

TEST(ParseClassifierConfigTest, LabelsProblemTypeAndModernBertKeys) {
  absl::StatusOr<ClassifierConfig> c = ParseClassifierConfig(
      R"({"model_type": "xlm-roberta", "id2label": {"1": "b", "0": "a",
          "2": "c"}, "problem_type": "multi_label_classification"})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, ClassifierKind::kRoberta);
  EXPECT_EQ(c->labels, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(c->multi_label);
  c = ParseClassifierConfig(R"({"model_type": "bert"})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->labels, (std::vector<std::string>{"LABEL_0", "LABEL_1"}));
  EXPECT_FALSE(c->multi_label);
  c = ParseClassifierConfig(
      R"({"model_type": "modernbert", "classifier_pooling": "cls",
          "classifier_activation": "silu", "classifier_bias": true,
          "norm_bias": true, "norm_eps": 1e-6})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, ClassifierKind::kModernBert);
  EXPECT_FALSE(c->mean_pooling);
  EXPECT_EQ(c->activation, "silu");
  EXPECT_TRUE(c->dense_bias);
  EXPECT_TRUE(c->norm_bias);
  EXPECT_DOUBLE_EQ(c->norm_eps, 1e-6);
}

TEST(ParseClassifierConfigTest, ErrorsNameTheKey) {
  auto message = [](const char* json) {
    return std::string(ParseClassifierConfig(json).status().message());
  };
  EXPECT_THAT(message(R"({"model_type": "gpt2"})"), HasSubstr("model_type"));
  EXPECT_THAT(message(R"({"model_type": "bert", "id2label": {"x": "a"}})"),
              HasSubstr("id2label[\"x\"]"));
  EXPECT_THAT(message(R"({"model_type": "bert", "id2label": {"1": "a"}})"),
              HasSubstr("id2label has no id 0"));
  EXPECT_THAT(message(R"({"model_type": "bert", "id2label": {}})"),
              HasSubstr("id2label"));
  EXPECT_THAT(message(R"({"model_type": "modernbert",
                          "classifier_pooling": "max"})"),
              HasSubstr("classifier_pooling"));
  EXPECT_THAT(message(R"({"model_type": "modernbert",
                          "classifier_activation": "mish"})"),
              HasSubstr("classifier_activation"));
  EXPECT_THAT(message(R"({"model_type": "modernbert", "norm_eps": "x"})"),
              HasSubstr("norm_eps"));
  EXPECT_THAT(message(R"({"model_type": "bert", "problem_type": 3})"),
              HasSubstr("problem_type"));
  EXPECT_THAT(message("[]"), HasSubstr("config.json"));
}

TEST(ClassifierHeadTest, MissingTensorIsNamed) {
  // bert_rerank's tensors under an XLM-R config: the RoBERTa head's names.
  absl::StatusOr<std::unique_ptr<const ClassifierHead>> head =
      ClassifierHead::Load(kTasks + "bert_rerank/",
                           R"({"model_type": "roberta",
                               "id2label": {"0": "LABEL_0"}})",
                           32);
  ASSERT_FALSE(head.ok());
  EXPECT_THAT(head.status().message(), HasSubstr("classifier.dense.weight"));
}

}  // namespace
}  // namespace attnserve::core
