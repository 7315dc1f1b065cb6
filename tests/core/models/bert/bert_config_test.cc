#include "core/models/bert/bert_config.h"

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

constexpr char kBertBase[] = R"({
  "architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 768,
  "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
  "hidden_act": "gelu", "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
  "type_vocab_size": 2, "vocab_size": 30522, "position_embedding_type": "absolute",
  "hidden_dropout_prob": 0.1, "torch_dtype": "float32"})";

std::string WithField(const std::string& field, const std::string& value) {
  std::string json = kBertBase;
  return json.substr(0, json.size() - 1) + ", \"" + field + "\": " + value +
         "}";
}

TEST(BertConfigTest, ParsesBertBase) {
  auto config = ParseBertConfig(kBertBase);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture, "BertForMaskedLM");
  EXPECT_EQ(config->hidden_size, 768);
  EXPECT_EQ(config->num_layers, 12);
  EXPECT_EQ(config->num_heads, 12);
  EXPECT_EQ(config->head_dim(), 64);
  EXPECT_EQ(config->intermediate_size, 3072);
  EXPECT_EQ(config->activation, Activation::kGeluErf);
  EXPECT_FLOAT_EQ(config->layer_norm_eps, 1e-12f);
  EXPECT_EQ(config->max_position_embeddings, 512);
  EXPECT_EQ(config->type_vocab_size, 2);
  EXPECT_EQ(config->vocab_size, 30522);
}

TEST(BertConfigTest, TanhGeluVariants) {
  for (const char* act : {"gelu_new", "gelu_pytorch_tanh", "gelu_fast"}) {
    auto config = ParseBertConfig(
        WithField("hidden_act", std::string("\"") + act + "\""));
    ASSERT_TRUE(config.ok()) << act << ": " << config.status();
    EXPECT_EQ(config->activation, Activation::kGeluTanh) << act;
  }
}

TEST(BertConfigTest, MissingFieldsTakeHuggingFaceDefaults) {
  auto config = ParseBertConfig(R"({"model_type": "bert", "hidden_size": 64,
                                    "num_attention_heads": 4})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture, "BertModel");
  EXPECT_EQ(config->num_layers, 12);
  EXPECT_EQ(config->vocab_size, 30522);
  EXPECT_EQ(config->activation, Activation::kGeluErf);
}

// RoBERTa, XLM-R and CamemBERT are BERT with positions from pad_token_id + 1.
TEST(BertConfigTest, RobertaFamilyHasAPositionOffset) {
  for (const char* json : {
           R"({"model_type": "xlm-roberta", "pad_token_id": 1,
               "max_position_embeddings": 514, "type_vocab_size": 1})",
           R"({"architectures": ["RobertaForMaskedLM"], "pad_token_id": 1,
               "max_position_embeddings": 514, "type_vocab_size": 1})",
           R"({"model_type": "camembert", "max_position_embeddings": 514})"}) {
    auto config = ParseBertConfig(json);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->position_offset, 2) << json;
    EXPECT_EQ(config->max_length(), 512) << json;
  }
  auto bert = ParseBertConfig(R"({"model_type": "bert", "pad_token_id": 5})");
  ASSERT_TRUE(bert.ok());
  EXPECT_EQ(bert->position_offset, 0);
  EXPECT_EQ(bert->max_length(), 512);
}

TEST(BertConfigTest, RejectsWithMessagesNamingTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {WithField("hidden_act", "\"relu6\""),
       "config.json: hidden_act is \"relu6\", expected one of gelu, gelu_new, "
       "gelu_pytorch_tanh, gelu_fast"},
      {WithField("hidden_size", "1000000000"),
       "config.json: hidden_size is 1000000000"},
      {WithField("hidden_size", "-5"), "config.json: hidden_size is -5"},
      {WithField("hidden_size", "\"768\""),
       "config.json: hidden_size is \"768\""},
      {WithField("num_attention_heads", "7"),
       "config.json: hidden_size 768 is not a multiple of num_attention_heads "
       "7"},
      {WithField("intermediate_size", "0"),
       "config.json: intermediate_size is 0"},
      {WithField("vocab_size", "1e9"),
       "config.json: vocab_size is 1000000000.0"},
      {WithField("max_position_embeddings", "99999999999"),
       "config.json: max_position_embeddings is 99999999999"},
      {WithField("position_embedding_type", "\"relative_key\""),
       "config.json: position_embedding_type is \"relative_key\", expected "
       "\"absolute\""},
      {WithField("layer_norm_eps", "-1"), "config.json: layer_norm_eps is -1"},
      {R"({"model_type": "gpt2", "architectures": ["GPT2Model"]})",
       "config.json: model_type is \"gpt2\", expected \"bert\", "
       "\"roberta\", \"xlm-roberta\" or \"camembert\""},
      {R"({"model_type": "roberta", "pad_token_id": 1,
           "max_position_embeddings": 2})",
       "config.json: max_position_embeddings is 2, expected more than "
       "pad_token_id + 1 = 2"},
      {R"({"hidden_size": 8})", "config.json: expected a BERT-family model"},
      {"{\"model_type\": ", "config.json: not valid JSON"},
      {"[]", "config.json: not a JSON object"},
      {R"({"model_type": "bert", "hidden_size": 16384, "intermediate_size": 65536,
           "num_hidden_layers": 256, "num_attention_heads": 16})",
       "parameters, expected at most 4e9"},
  };
  for (const auto& [json, message] : cases) {
    auto config = ParseBertConfig(json);
    ASSERT_FALSE(config.ok()) << json;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(message))
        << json;
  }
}

}  // namespace
}  // namespace attnserve::core

namespace attnserve::core {
namespace {

// Random byte edits of a valid config never crash the parser; whatever it
// accepts satisfies the documented limits.
TEST(BertConfigTest, RandomlyCorruptedConfigsNeverCrash) {
  const std::string valid = kBertBase;
  std::mt19937 rng(11);
  const char alphabet[] = "0123456789-.e\"{}[],: abgelnt";
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text = valid;
    const int edits = 1 + int(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      text[rng() % text.size()] = alphabet[rng() % (sizeof(alphabet) - 1)];
    }
    auto config = ParseBertConfig(text);
    if (!config.ok()) {
      EXPECT_EQ(
          std::string(config.status().message()).rfind("config.json: ", 0), 0u);
      continue;
    }
    ++accepted;
    EXPECT_GE(config->hidden_size, 1);
    EXPECT_LE(config->hidden_size, 16384);
    EXPECT_EQ(config->hidden_size % config->num_heads, 0);
    EXPECT_GE(config->vocab_size, 1);
    EXPECT_GT(config->layer_norm_eps, 0.0f);
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace attnserve::core
