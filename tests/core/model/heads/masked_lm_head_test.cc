// MaskedLmHead::Splade against a float64 scalar reference computed here, on a
// random head whose vocabulary spans several decoder tiles and a batch whose
// tokens span several row blocks, with sequences crossing block boundaries.
// (The golden end-to-end test, tests/e2e/tasks_python_test.py, checks the
// whole BertForMaskedLM against float64 torch; its vocabulary fits one tile.)
#include "core/model/heads/masked_lm_head.h"

#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kHidden = 16;
// Three decoder tiles, the last one narrower.
constexpr int64_t kVocab = 2 * MaskedLmHead::kVocabTile + 77;

// Writes `tensors` (F32, row-major) as a safetensors file.
void WriteSafetensors(const std::string& path,
                      const std::map<std::string, std::vector<int64_t>>& shapes,
                      const std::map<std::string, std::vector<float>>& values) {
  nlohmann::json header = nlohmann::json::object();
  size_t offset = 0;
  for (const auto& [name, shape] : shapes) {
    const size_t bytes = values.at(name).size() * sizeof(float);
    header[name] = {{"dtype", "F32"},
                    {"shape", shape},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << text;
  for (const auto& [name, shape] : shapes) {
    const std::vector<float>& v = values.at(name);
    out.write(reinterpret_cast<const char*>(v.data()),
              std::streamsize(v.size() * sizeof(float)));
  }
}

class MaskedLmHeadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/masked_lm_head_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = std::string(pattern) + "/";
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto random = [&](int64_t n, float std, float mean = 0.0f) {
      std::vector<float> v(n);
      for (float& x : v) x = mean + std * normal(rng);
      return v;
    };
    const std::string p = "cls.predictions.";
    shapes_ = {{"bert.embeddings.word_embeddings.weight", {kVocab, kHidden}},
               {p + "transform.dense.weight", {kHidden, kHidden}},
               {p + "transform.dense.bias", {kHidden}},
               {p + "transform.LayerNorm.weight", {kHidden}},
               {p + "transform.LayerNorm.bias", {kHidden}},
               {p + "bias", {kVocab}}};
    w_ = {{"bert.embeddings.word_embeddings.weight",
           random(kVocab * kHidden, 0.3f)},
          {p + "transform.dense.weight", random(kHidden * kHidden, 0.4f)},
          {p + "transform.dense.bias", random(kHidden, 0.1f)},
          {p + "transform.LayerNorm.weight", random(kHidden, 0.1f, 1.0f)},
          {p + "transform.LayerNorm.bias", random(kHidden, 0.1f)},
          // Mostly negative logits: sparse vectors, as SPLADE's are.
          {p + "bias", random(kVocab, 0.5f, -2.0f)}};
    WriteSafetensors(dir_ + "model.safetensors", shapes_, w_);
    config_ = nlohmann::json{
        {"architectures", {"BertForMaskedLM"}},
        {"model_type", "bert"},
        {"hidden_size", kHidden},
        {"num_hidden_layers", 1},
        {"num_attention_heads", 2},
        {"intermediate_size", 32},
        {"vocab_size", kVocab},
        {"hidden_act", "gelu"},
        {"layer_norm_eps",
         1e-12}}.dump();
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Float64: dense, erf GELU, LayerNorm, decoder + bias; max over tokens of
  // log(1 + relu(logit)) per id. Dense [vocab] vector.
  std::vector<double> Reference(const std::vector<float>& states,
                                int64_t length) const {
    const std::string p = "cls.predictions.";
    const auto& dw = w_.at(p + "transform.dense.weight");
    const auto& db = w_.at(p + "transform.dense.bias");
    const auto& g = w_.at(p + "transform.LayerNorm.weight");
    const auto& b = w_.at(p + "transform.LayerNorm.bias");
    const auto& e = w_.at("bert.embeddings.word_embeddings.weight");
    const auto& bias = w_.at(p + "bias");
    std::vector<double> out(kVocab, 0.0);
    for (int64_t t = 0; t < length; ++t) {
      std::vector<double> h(kHidden);
      for (int64_t o = 0; o < kHidden; ++o) {
        double acc = db[o];
        for (int64_t i = 0; i < kHidden; ++i) {
          acc += double(dw[o * kHidden + i]) * states[t * kHidden + i];
        }
        h[o] = 0.5 * acc * (1.0 + std::erf(acc / std::sqrt(2.0)));
      }
      double mean = 0.0, var = 0.0;
      for (double x : h) mean += x / kHidden;
      for (double x : h) var += (x - mean) * (x - mean) / kHidden;
      for (int64_t o = 0; o < kHidden; ++o) {
        h[o] = (h[o] - mean) / std::sqrt(var + 1e-12) * g[o] + b[o];
      }
      for (int64_t v = 0; v < kVocab; ++v) {
        double logit = bias[v];
        for (int64_t i = 0; i < kHidden; ++i)
          logit += e[v * kHidden + i] * h[i];
        out[v] = std::max(out[v], std::log1p(std::max(logit, 0.0)));
      }
    }
    return out;
  }

  std::string dir_;
  std::string config_;
  std::map<std::string, std::vector<int64_t>> shapes_;
  std::map<std::string, std::vector<float>> w_;
};

Tensor RandomStates(int64_t length, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor t(DType::kFP32, {length, kHidden});
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data<float>()[i] = normal(rng);
  }
  return t;
}

TEST_F(MaskedLmHeadTest, SpladeMatchesTheReferenceAcrossTilesAndBlocks) {
  absl::StatusOr<std::unique_ptr<const MaskedLmHead>> head =
      MaskedLmHead::Load(dir_, config_, kHidden, kVocab);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ((*head)->vocab_size(), kVocab);
  // 331 tokens: two row blocks; sequences 0 and 2 straddle block edges.
  std::mt19937 rng(3);
  std::vector<Tensor> hidden;
  for (int64_t length : {200, 1, 130}) {
    hidden.push_back(RandomStates(length, rng));
  }
  absl::StatusOr<std::vector<SparseVector>> got = (*head)->Splade(hidden);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), hidden.size());
  for (size_t s = 0; s < hidden.size(); ++s) {
    const std::vector<float> states(
        hidden[s].data<float>(),
        hidden[s].data<float>() + hidden[s].num_elements());
    const std::vector<double> want = Reference(states, hidden[s].dim(0));
    std::vector<double> dense(kVocab, 0.0);
    const SparseVector& v = (*got)[s];
    ASSERT_EQ(v.indices.size(), v.values.size());
    for (size_t k = 0; k < v.indices.size(); ++k) {
      if (k > 0) {
        EXPECT_LT(v.indices[k - 1], v.indices[k]);
      }
      EXPECT_GT(v.values[k], 0.0f);
      dense[v.indices[k]] = v.values[k];
    }
    int clearly_positive = 0, last_tile = 0;
    for (int64_t id = 0; id < kVocab; ++id) {
      ASSERT_NEAR(dense[id], want[id], 1e-5)
          << "sequence " << s << " id " << id;
      if (want[id] > 1e-4) {
        ++clearly_positive;
        EXPECT_GT(dense[id], 0.0) << "sequence " << s << " id " << id;
        last_tile += id >= 2 * MaskedLmHead::kVocabTile;
      }
    }
    // The test means something: non-zeros in every sequence, last tile too.
    EXPECT_GT(clearly_positive, 20) << "sequence " << s;
    if (s != 1) {
      EXPECT_GT(last_tile, 0) << "sequence " << s;
    }
  }
  // A sequence alone gives what it gives among others.
  absl::StatusOr<std::vector<SparseVector>> alone =
      (*head)->Splade({hidden[2]});
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ((*alone)[0].indices, (*got)[2].indices);
  for (size_t k = 0; k < (*alone)[0].values.size(); ++k) {
    EXPECT_NEAR((*alone)[0].values[k], (*got)[2].values[k], 1e-6);
  }
}

TEST_F(MaskedLmHeadTest, NonFiniteLogitsAreAnError) {
  absl::StatusOr<std::unique_ptr<const MaskedLmHead>> head =
      MaskedLmHead::Load(dir_, config_, kHidden, kVocab);
  ASSERT_TRUE(head.ok()) << head.status();
  std::mt19937 rng(5);
  std::vector<Tensor> hidden = {RandomStates(40, rng), RandomStates(3, rng)};
  hidden[1].data<float>()[kHidden + 2] =
      std::numeric_limits<float>::quiet_NaN();
  absl::StatusOr<std::vector<SparseVector>> got = (*head)->Splade(hidden);
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("not finite"));
}

TEST_F(MaskedLmHeadTest, MissingHeadTensorIsNotFoundAndNamed) {
  shapes_.erase("cls.predictions.bias");
  WriteSafetensors(dir_ + "model.safetensors", shapes_, w_);
  absl::StatusOr<std::unique_ptr<const MaskedLmHead>> head =
      MaskedLmHead::Load(dir_, config_, kHidden, kVocab);
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(head.status().message(), HasSubstr("cls.predictions.bias"));
}

}  // namespace
}  // namespace attnserve::core
