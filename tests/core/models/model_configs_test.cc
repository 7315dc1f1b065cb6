// ParseModernBertConfig, ParseNomicBertConfig and ParseMpnetConfig on the
// golden checkpoints' config.json (Hub keys) and on broken variants.
#include <fstream>
#include <sstream>
#include <string>

#include "core/models/modern_bert/modern_bert_config.h"
#include "core/models/mpnet/mpnet_config.h"
#include "core/models/nomic_bert/nomic_bert_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

nlohmann::json GoldenConfig(const std::string& arch) {
  std::ifstream in(std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/models/" +
                   arch + "/config.json");
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

TEST(ModelConfigsTest, ModernBertGolden) {
  auto c = ParseModernBertConfig(GoldenConfig("modernbert").dump());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, "ModernBertForMaskedLM");
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_EQ(c->num_heads, 4);
  EXPECT_EQ(c->intermediate_size, 48);
  EXPECT_EQ(c->global_layer, std::vector<bool>({true, false, true}));
  EXPECT_EQ(c->window_half(), 8);
  EXPECT_EQ(c->global_rope_theta, 160000.0);
  EXPECT_EQ(c->local_rope_theta, 10000.0);
  EXPECT_FALSE(c->norm_bias);
  EXPECT_FALSE(c->mlp_bias);
  EXPECT_EQ(c->activation, GluActivation::kGeluErf);
  EXPECT_EQ(c->max_position_embeddings, 8192);
}

// transformers 5 writes layer_types and rope_parameters instead.
TEST(ModelConfigsTest, ModernBertLayerTypesAndRopeParameters) {
  nlohmann::json j = GoldenConfig("modernbert");
  j.erase("global_attn_every_n_layers");
  j.erase("global_rope_theta");
  j.erase("local_rope_theta");
  j["layer_types"] = {"sliding_attention", "full_attention",
                      "sliding_attention"};
  j["rope_parameters"] = {
      {"full_attention", {{"rope_type", "default"}, {"rope_theta", 5e5}}},
      {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 2e4}}}};
  auto c = ParseModernBertConfig(j.dump());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->global_layer, std::vector<bool>({false, true, false}));
  EXPECT_EQ(c->global_rope_theta, 5e5);
  EXPECT_EQ(c->local_rope_theta, 2e4);
}

TEST(ModelConfigsTest, NomicBertGolden) {
  auto c = ParseNomicBertConfig(GoldenConfig("nomic_bert").dump());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, "NomicBertModel");
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_EQ(c->vocab_size, 3008);  // 3000 rounded up to 64
  EXPECT_EQ(c->intermediate_size, 256);  // 200 rounded up to 256
  EXPECT_TRUE(c->gated);
  EXPECT_EQ(c->activation, GluActivation::kSilu);
  EXPECT_EQ(c->rotary_dim, 8);  // half of 16
  EXPECT_EQ(c->rotary_base, 1000.0);
  EXPECT_FALSE(c->qkv_proj_bias);
  EXPECT_FALSE(c->mlp_fc1_bias);
  EXPECT_FALSE(c->mlp_fc2_bias);
  EXPECT_EQ(c->type_vocab_size, 2);
}

TEST(ModelConfigsTest, MpnetGolden) {
  auto c = ParseMpnetConfig(GoldenConfig("mpnet").dump());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, "MPNetForMaskedLM");
  EXPECT_EQ(c->hidden_size, 32);
  EXPECT_EQ(c->relative_attention_num_buckets, 32);
  EXPECT_EQ(c->max_length(), 128);
}

// One broken field per row: the error names it.
struct BadConfig {
  const char* arch;
  nlohmann::json patch;  // merged into the golden config
  const char* message;
};

absl::Status ParseArch(const std::string& arch, const std::string& text) {
  if (arch == "modernbert") return ParseModernBertConfig(text).status();
  if (arch == "nomic_bert") return ParseNomicBertConfig(text).status();
  return ParseMpnetConfig(text).status();
}

TEST(ModelConfigsTest, BadConfigsNameTheField) {
  const BadConfig cases[] = {
      {"modernbert",
       {{"model_type", "bert"}, {"architectures", {"BertModel"}}},
       "model_type is \"bert\", expected \"modernbert\""},
      {"modernbert", {{"local_attention", 7}}, "local_attention is 7"},
      {"modernbert", {{"local_attention", 0}}, "local_attention is 0"},
      {"modernbert", {{"global_rope_theta", -1}}, "global_rope_theta is -1"},
      {"modernbert", {{"local_rope_theta", "big"}}, "local_rope_theta is"},
      {"modernbert",
       {{"global_attn_every_n_layers", 0}},
       "global_attn_every_n_layers is 0"},
      {"modernbert",
       {{"rope_scaling", {{"type", "linear"}}}},
       "rope_scaling is"},
      {"modernbert",
       {{"rope_parameters",
         {{"full_attention", {{"rope_type", "yarn"}, {"factor", 4}}}}}},
       "rope_parameters.full_attention.rope_type is \"yarn\""},
      {"modernbert",
       {{"layer_types", {"full_attention"}}},
       "layer_types is not a list of 3 entries"},
      {"modernbert",
       {{"hidden_activation", "relu"}},
       "hidden_activation is \"relu\""},
      {"modernbert",
       {{"num_attention_heads", 5}},
       "hidden_size 64 is not a multiple of num_attention_heads 5"},
      {"modernbert",
       {{"norm_bias", 1}},
       "norm_bias is 1, expected true or false"},
      {"nomic_bert",
       {{"model_type", "gpt2"}, {"architectures", {"GPT2Model"}}},
       "model_type is \"gpt2\", expected \"nomic_bert\""},
      {"nomic_bert",
       {{"rotary_emb_fraction", 0.0}},
       "rotary_emb_fraction is 0"},
      {"nomic_bert",
       {{"rotary_emb_fraction", 0.3}},
       "rotary_emb_fraction is 0.3"},
      {"nomic_bert", {{"rotary_emb_base", 0}}, "rotary_emb_base is 0"},
      {"nomic_bert",
       {{"rotary_scaling_factor", 2.0}},
       "rotary_scaling_factor is 2.0, expected null"},
      {"nomic_bert",
       {{"rotary_emb_interleaved", true}},
       "rotary_emb_interleaved is true"},
      {"nomic_bert", {{"prenorm", true}}, "prenorm is true, expected false"},
      {"nomic_bert",
       {{"activation_function", "glu"}},
       "activation_function is \"glu\""},
      {"nomic_bert",
       {{"n_head", 3}},
       "n_embd 64 is not a multiple of n_head 3"},
      {"mpnet",
       {{"relative_attention_num_buckets", 16}},
       "relative_attention_num_buckets is 16"},
      {"mpnet",
       {{"max_position_embeddings", 2}},
       "max_position_embeddings is 2"},
      {"mpnet", {{"hidden_act", "silu"}}, "hidden_act is \"silu\""},
  };
  for (const BadConfig& c : cases) {
    nlohmann::json j = GoldenConfig(c.arch);
    j.merge_patch(c.patch);
    const absl::Status status = ParseArch(c.arch, j.dump());
    EXPECT_FALSE(status.ok()) << c.arch << " " << c.patch.dump();
    EXPECT_THAT(status.message(), HasSubstr("config.json: "));
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.patch.dump();
  }
  EXPECT_THAT(ParseModernBertConfig("{").status().message(),
              HasSubstr("config.json: not valid JSON"));
  EXPECT_THAT(ParseNomicBertConfig("[1]").status().message(),
              HasSubstr("config.json: not a JSON object"));
}

}  // namespace
}  // namespace attnserve::core
