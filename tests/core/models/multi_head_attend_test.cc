// MultiHeadAttend applies the hooks Encode applies (rotary for NomicBERT and
// ModernBERT, the relative position bias for MPNet): layer 0's attention
// weights over the model's embeddings of each golden sequence equal the
// float64 torch reference's attention maps (tests/golden/models, written by
// gen_models.py).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/io/safetensors.h"
#include "core/layers/embeddings.h"
#include "core/layers/encoder_batch.h"
#include "core/model/load_model.h"
#include "core/models/bert/bert_model.h"
#include "core/models/modern_bert/modern_bert_model.h"
#include "core/models/mpnet/mpnet_model.h"
#include "core/models/nomic_bert/nomic_bert_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

const std::string kModels =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/models/";

std::map<std::string, Tensor> LoadTensors(const std::string& path) {
  auto file = SafetensorsFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  std::map<std::string, Tensor> out;
  if (!file.ok()) return out;
  for (const SafetensorsTensorInfo& info : (*file)->header().tensors) {
    out[info.name] = SafetensorsToFloat((*file)->bytes(), info);
  }
  return out;
}

// The golden sequences of `arch` (inputs.json), each a batch of its own.
std::vector<PackedBatch> GoldenSequences(const std::string& arch) {
  std::ifstream in(kModels + "inputs.json");
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json inputs = nlohmann::json::parse(text.str());
  const std::string types_key = arch + "_token_types";
  std::vector<PackedBatch> batches;
  for (size_t s = 0; s < inputs[arch].size(); ++s) {
    PackedBatch batch;
    batch.token_ids = inputs[arch][s].get<std::vector<int32_t>>();
    if (inputs.contains(types_key)) {
      batch.token_type_ids = inputs[types_key][s].get<std::vector<int32_t>>();
    }
    batch.offsets = {0, int64_t(batch.token_ids.size())};
    batches.push_back(std::move(batch));
  }
  return batches;
}

// The model's embedding layer as its Encode runs it (layer 0's input),
// written into a batch's states(); and the token type vocabulary it takes.
struct Embedder {
  std::function<void(EncoderBatch*)> embed;
  int64_t type_vocab_size = 0;
};

Embedder EmbedderOf(const EncoderModel& model) {
  if (auto* m = dynamic_cast<const BertModel*>(&model)) {
    const BertWeights& w = m->weights;
    return {[m, &w](EncoderBatch* run) {
              EmbedTokens(w.word_embeddings, w.position_embeddings,
                          m->config.position_offset, w.token_type_embeddings,
                          w.embeddings_norm_gamma, w.embeddings_norm_beta,
                          m->config.layer_norm_eps, run);
            },
            m->config.type_vocab_size};
  }
  if (auto* m = dynamic_cast<const MpnetModel*>(&model)) {
    return {[m](EncoderBatch* run) {
              EmbedTokens(m->word_embeddings, m->position_embeddings,
                          MpnetConfig::kPositionOffset, Tensor(),
                          m->embeddings_norm_gamma, m->embeddings_norm_beta,
                          m->config.layer_norm_eps, run);
            },
            0};
  }
  if (auto* m = dynamic_cast<const NomicBertModel*>(&model)) {
    return {[m](EncoderBatch* run) {
              EmbedTokens(m->word_embeddings, Tensor(), 0,
                          m->token_type_embeddings, m->emb_ln_gamma,
                          m->emb_ln_beta, m->config.layer_norm_eps, run);
            },
            m->config.type_vocab_size};
  }
  if (auto* m = dynamic_cast<const ModernBertModel*>(&model)) {
    return {[m](EncoderBatch* run) {
              EmbedTokens(m->tok_embeddings, Tensor(), 0, Tensor(),
                          m->embeddings_norm.gamma, m->embeddings_norm.beta,
                          m->config.norm_eps, run);
            },
            0};
  }
  ADD_FAILURE() << "no embedder for " << model.info().architecture;
  return {};
}

// [1, length, hidden] FP32: the embeddings of one sequence.
Tensor LayerZeroInput(const EncoderModel& model, const PackedBatch& batch) {
  const ModelInfo info = model.info();
  const Embedder embedder = EmbedderOf(model);
  EncoderDims dims;
  dims.hidden_size = info.hidden_size;
  dims.num_layers = info.num_layers;
  dims.num_heads = info.num_heads;
  dims.intermediate_size = info.hidden_size;  // no feed-forward runs
  dims.vocab_size = info.vocab_size;
  dims.type_vocab_size = embedder.type_vocab_size;
  dims.max_length = info.max_length;
  auto run = EncoderBatch::Create(dims, batch, EncodeOptions(),
                                  std::vector<AttentionSpec>(info.num_layers));
  EXPECT_TRUE(run.ok()) << run.status();
  if (!run.ok() || !embedder.embed) return Tensor();
  embedder.embed(run->get());
  const int64_t tokens = (*run)->tokens();
  Tensor hidden(DType::kFP32, {1, tokens, info.hidden_size});
  std::memcpy(hidden.raw_data(), (*run)->states(), hidden.num_bytes());
  return hidden;
}

class MultiHeadAttendGoldenTest : public ::testing::TestWithParam<const char*> {
};

TEST_P(MultiHeadAttendGoldenTest, LayerZeroWeightsMatchTorch) {
  const std::string arch = GetParam();
  auto model = LoadEncoderModel(kModels + arch);
  ASSERT_TRUE(model.ok()) << model.status();
  std::map<std::string, Tensor> expected =
      LoadTensors(kModels + arch + "/expected.safetensors");
  const std::vector<PackedBatch> sequences = GoldenSequences(arch);
  int maps = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    auto it = expected.find(absl::StrCat("attention.0.", s));
    if (it == expected.end()) continue;  // not kept by gen_models.py
    MultiHeadAttendInputs inputs;
    inputs.layer = 0;
    inputs.hidden = LayerZeroInput(**model, sequences[s]);
    ASSERT_FALSE(inputs.hidden.empty());
    inputs.return_weights = true;
    auto out = MultiHeadAttend(**model, inputs);
    ASSERT_TRUE(out.ok()) << out.status();
    const Tensor& want = it->second;  // [heads, length, length]
    ASSERT_EQ(out->weights.num_elements(), want.num_elements()) << s;
    float error = 0;
    for (int64_t i = 0; i < want.num_elements(); ++i) {
      error = std::max(error, std::fabs(out->weights.data<float>()[i] -
                                        want.data<float>()[i]));
    }
    EXPECT_LE(error, 1e-5) << arch << " sequence " << s;
    ++maps;
  }
  EXPECT_GE(maps, 5);
}

INSTANTIATE_TEST_SUITE_P(Architectures, MultiHeadAttendGoldenTest,
                         ::testing::Values("roberta", "mpnet", "nomic_bert",
                                           "modernbert"));

// The hooks' tables end at the model's positions: a longer hidden or context
// is an error naming it.
TEST(MultiHeadAttendTest, LongerThanThePositionsIsAnError) {
  for (const char* arch : {"mpnet", "nomic_bert", "modernbert"}) {
    auto model = LoadEncoderModel(kModels + arch);
    ASSERT_TRUE(model.ok()) << model.status();
    const ModelInfo info = (*model)->info();
    MultiHeadAttendInputs inputs;
    inputs.hidden =
        Tensor::Zeros(DType::kFP32, {1, info.max_length + 1, info.hidden_size});
    auto out = MultiHeadAttend(**model, inputs);
    ASSERT_FALSE(out.ok()) << arch;
    EXPECT_THAT(
        std::string(out.status().message()),
        HasSubstr(absl::StrCat("hidden.shape[1] is ", info.max_length + 1,
                               ", expected at most ", info.max_length)))
        << arch;
    inputs.hidden = Tensor::Zeros(DType::kFP32, {1, 2, info.hidden_size});
    inputs.context =
        Tensor::Zeros(DType::kFP32, {1, info.max_length + 1, info.hidden_size});
    out = MultiHeadAttend(**model, inputs);
    ASSERT_FALSE(out.ok()) << arch;
    EXPECT_THAT(std::string(out.status().message()),
                HasSubstr("context.shape[1] is"))
        << arch;
  }
}

}  // namespace
}  // namespace attnserve::core
