// The shared self-attention layer's hooks, on one layer of the demo model.
#include "core/layers/self_attention.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "core/layers/encoder_batch.h"
#include "core/models/demo/demo_model.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

// Two sequences of different lengths (two length groups).
PackedBatch TwoSequences() {
  PackedBatch batch;
  batch.token_ids = {2, 40, 41, 42, 3, 2, 50, 3};
  batch.offsets = {0, 5, 8};
  return batch;
}

class SelfAttentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto demo = MakeDemoModel();
    ASSERT_TRUE(demo.ok()) << demo.status();
    model_ = demo->model;
    const BertConfig& c = model_->config;
    dims_.hidden_size = c.hidden_size;
    dims_.num_layers = c.num_layers;
    dims_.num_heads = c.num_heads;
    dims_.intermediate_size = c.intermediate_size;
    dims_.vocab_size = c.vocab_size;
    dims_.type_vocab_size = c.type_vocab_size;
    dims_.max_length = c.max_position_embeddings;
  }

  // Layer 0's attention block over random states; returns the attention
  // weights of each sequence and the block's output [tokens, hidden].
  struct Result {
    std::vector<Tensor> weights;
    std::vector<float> out;
  };
  Result Run(const PackedBatch& batch, const EncodeOptions& options,
             const SelfAttentionHooks& hooks) {
    auto run = EncoderBatch::Create(
        dims_, batch, options, std::vector<AttentionSpec>(dims_.num_layers));
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return {};
    EncoderBatch& b = **run;
    for (int64_t i = 0; i < b.tokens() * dims_.hidden_size; ++i) {
      b.states()[i] = std::sin(0.37f * float(i));
      if (b.bf16()) b.states_bf16()[i] = FloatToBF16(b.states()[i]);
    }
    const EncoderLayerWeights& layer = model_->weights.layers[0];
    absl::Status s = SelfAttention(layer.qkv, layer.attention_output, hooks, 0,
                                   b.AsInput(b.states(), b.states_bf16()), &b,
                                   b.projected());
    EXPECT_TRUE(s.ok()) << s;
    Result result;
    result.out.assign(b.projected(),
                      b.projected() + b.tokens() * dims_.hidden_size);
    EncoderOutput output = b.TakeOutput();
    if (!output.attention.empty()) result.weights = output.attention[0];
    return result;
  }

  std::shared_ptr<const BertModel> model_;
  EncoderDims dims_;
};

// A score bias of -inf above the diagonal equals causal attention.
TEST_F(SelfAttentionTest, ScoreBiasHookAddsToTheScores) {
  EncodeOptions options;
  options.attention_layers = {0};
  SelfAttentionHooks causal_bias;
  const int64_t heads = dims_.num_heads;
  causal_bias.score_bias = [&](int64_t length, int64_t keys) {
    EXPECT_EQ(keys, length);
    Tensor mask = Tensor::Zeros(DType::kFP32, {1, heads, length, length});
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < length; ++i) {
        for (int64_t j = i + 1; j < length; ++j) {
          mask.data<float>()[(h * length + i) * length + j] =
              -std::numeric_limits<float>::infinity();
        }
      }
    }
    return mask;
  };
  const Result biased = Run(TwoSequences(), options, causal_bias);
  options.attention = AttentionSpec();
  options.attention->causal = true;
  const Result causal = Run(TwoSequences(), options, SelfAttentionHooks());
  ASSERT_EQ(biased.weights.size(), 2u);
  ASSERT_EQ(causal.weights.size(), 2u);
  for (size_t s = 0; s < 2; ++s) {
    ASSERT_EQ(biased.weights[s].num_elements(),
              causal.weights[s].num_elements());
    for (int64_t i = 0; i < biased.weights[s].num_elements(); ++i) {
      EXPECT_NEAR(biased.weights[s].data<float>()[i],
                  causal.weights[s].data<float>()[i], 1e-6)
          << "sequence " << s << " element " << i;
    }
  }
  ASSERT_EQ(biased.out.size(), causal.out.size());
  for (size_t i = 0; i < biased.out.size(); ++i) {
    EXPECT_NEAR(biased.out[i], causal.out[i], 1e-5) << i;
  }
}

// The rotary hook sees every token's position in its sequence and the FP32
// QKV rows; zeroing the keys there makes every score 0: uniform weights.
TEST_F(SelfAttentionTest, RotaryHookRewritesQueriesAndKeys) {
  for (DType dtype : {DType::kFP32, DType::kBF16}) {
    EncodeOptions options;
    options.attention_layers = {0};
    options.compute_dtype = dtype;
    std::vector<int32_t> seen_positions;
    SelfAttentionHooks hooks;
    const int64_t hidden = dims_.hidden_size;
    hooks.rotary = [&](float* qkv, int64_t rows,
                       absl::Span<const int32_t> positions) {
      seen_positions.assign(positions.begin(), positions.end());
      ASSERT_EQ(rows, int64_t(positions.size()));
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t i = 0; i < hidden; ++i)
          qkv[r * 3 * hidden + hidden + i] = 0;
      }
    };
    const Result result = Run(TwoSequences(), options, hooks);
    EXPECT_EQ(seen_positions, (std::vector<int32_t>{0, 1, 2, 3, 4, 0, 1, 2}));
    ASSERT_EQ(result.weights.size(), 2u);
    for (const Tensor& w : result.weights) {
      const int64_t length = w.dim(2);
      for (int64_t i = 0; i < w.num_elements(); ++i) {
        EXPECT_NEAR(w.data<float>()[i], 1.0f / float(length), 1e-6);
      }
    }
  }
}

}  // namespace
}  // namespace attnserve::core
