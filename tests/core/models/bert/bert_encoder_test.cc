#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/io/safetensors.h"
#include "core/layers/pooling.h"
#include "core/model/encoder_model.h"
#include "core/models/bert/bert_model.h"
#include "core/models/demo/demo_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/";

// Outputs of tests/golden/gen_encoder.py's torch BERT, by name.
std::map<std::string, Tensor> LoadExpected(const std::string& name) {
  auto file = SafetensorsFile::Open(kGoldenDir + name);
  EXPECT_TRUE(file.ok()) << file.status();
  std::map<std::string, Tensor> out;
  if (!file.ok()) return out;
  for (const SafetensorsTensorInfo& info : (*file)->header().tensors) {
    out[info.name] = SafetensorsToFloat((*file)->bytes(), info);
  }
  return out;
}

PackedBatch GoldenInputs() {
  std::ifstream in(kGoldenDir + "encoder_inputs.json");
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json inputs = nlohmann::json::parse(text.str());
  PackedBatch batch;
  batch.offsets.push_back(0);
  for (size_t s = 0; s < inputs["token_ids"].size(); ++s) {
    for (size_t i = 0; i < inputs["token_ids"][s].size(); ++i) {
      batch.token_ids.push_back(inputs["token_ids"][s][i].get<int32_t>());
      batch.token_type_ids.push_back(
          inputs["token_type_ids"][s][i].get<int32_t>());
    }
    batch.offsets.push_back(int64_t(batch.token_ids.size()));
  }
  return batch;
}

float MaxAbsDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.num_elements() != b.num_elements()) return INFINITY;
  float m = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    m = std::max(m, std::fabs(a.GetFloat(i) - b.GetFloat(i)));
  }
  return m;
}

std::shared_ptr<const BertModel> Load(const std::string& name) {
  auto model = LoadBertModel(kGoldenDir + name);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

class GoldenEncoderTest : public ::testing::TestWithParam<const char*> {};

// Hidden states, pooled vectors and the last layer's attention maps equal
// those of an independent float64 torch BERT on a padded, masked batch.
TEST_P(GoldenEncoderTest, Fp32MatchesTorch) {
  auto model = Load(GetParam());
  ASSERT_NE(model, nullptr);
  auto expected =
      LoadExpected(absl::StrCat(GetParam(), "_expected.safetensors"));
  const PackedBatch batch = GoldenInputs();
  EncodeOptions options;
  options.attention_layers = {-1, 0};
  auto out = Encode(*model, batch, options);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_LE(MaxAbsDiff(out->hidden, expected["hidden"]), 1e-4);

  const int64_t last = model->config.num_layers - 1;
  int maps_checked = 0;
  for (size_t s = 0; s + 1 < batch.offsets.size(); ++s) {
    const int64_t length = batch.offsets[s + 1] - batch.offsets[s];
    const Tensor& map = out->attention[0][s];
    ASSERT_EQ(map.shape(), (absl::Span<const int64_t>{model->config.num_heads,
                                                      length, length}));
    EXPECT_EQ(out->attention[1][s].shape(), map.shape());
    auto it = expected.find(absl::StrCat("attention.", last, ".", s));
    if (it == expected.end()) continue;
    EXPECT_LE(MaxAbsDiff(map, it->second), 1e-5) << "sequence " << s;
    ++maps_checked;
  }
  EXPECT_GE(maps_checked, 4);

  const std::pair<Pooling, const char*> poolings[] = {
      {Pooling::kCls, "pooled_cls"},
      {Pooling::kMean, "pooled_mean"},
      {Pooling::kMax, "pooled_max"}};
  for (const auto& [pooling, name] : poolings) {
    EXPECT_LE(
        MaxAbsDiff(Pool(out->hidden, batch.offsets, pooling), expected[name]),
        1e-4)
        << name;
  }
  Tensor normalized = Pool(out->hidden, batch.offsets, Pooling::kMean);
  L2NormalizeRows(&normalized);
  EXPECT_LE(MaxAbsDiff(normalized, expected["pooled_mean_normalized"]), 1e-5);
}

// BF16 matmuls and attention stay close to the float64 reference.
TEST_P(GoldenEncoderTest, Bf16CosineToTorchPerToken) {
  auto model = Load(GetParam());
  ASSERT_NE(model, nullptr);
  auto expected =
      LoadExpected(absl::StrCat(GetParam(), "_expected.safetensors"));
  EncodeOptions options;
  options.compute_dtype = DType::kBF16;
  auto out = Encode(*model, GoldenInputs(), options);
  ASSERT_TRUE(out.ok()) << out.status();
  const Tensor& want = expected["hidden"];
  const int64_t hidden = model->config.hidden_size;
  ASSERT_EQ(out->hidden.shape(), want.shape());
  float worst = 1;
  for (int64_t t = 0; t < want.dim(0); ++t) {
    double dot = 0, a2 = 0, b2 = 0;
    for (int64_t i = 0; i < hidden; ++i) {
      const double a = out->hidden.data<float>()[t * hidden + i];
      const double b = want.data<float>()[t * hidden + i];
      dot += a * b;
      a2 += a * a;
      b2 += b * b;
    }
    worst = std::min(worst, float(dot / std::sqrt(a2 * b2)));
  }
  EXPECT_GE(worst, 0.999f);
}

TEST_P(GoldenEncoderTest, MultiHeadAttendMatchesTorch) {
  auto model = Load(GetParam());
  ASSERT_NE(model, nullptr);
  auto expected =
      LoadExpected(absl::StrCat(GetParam(), "_expected.safetensors"));

  MultiHeadAttendInputs self;
  self.layer = 1;
  self.hidden = expected["mha_self.hidden"];
  self.lengths = {5, 3};
  self.return_weights = true;
  auto out = MultiHeadAttend(*model, self);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_LE(MaxAbsDiff(out->output, expected["mha_self.output"]), 1e-4);
  EXPECT_LE(MaxAbsDiff(out->weights, expected["mha_self.weights"]), 1e-5);

  MultiHeadAttendInputs cross;
  cross.layer = 0;
  cross.hidden = expected["mha_cross.hidden"];
  cross.context = expected["mha_cross.context"];
  cross.lengths = {6, 2};
  cross.return_weights = true;
  out = MultiHeadAttend(*model, cross);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_LE(MaxAbsDiff(out->output, expected["mha_cross.output"]), 1e-4);
  EXPECT_LE(MaxAbsDiff(out->weights, expected["mha_cross.weights"]), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, GoldenEncoderTest,
                         ::testing::Values("tiny_bert", "tiny_bert_prefixed"));

PackedBatch RandomBatch(const std::vector<int64_t>& lengths, int64_t vocab,
                        uint32_t seed) {
  std::mt19937 rng(seed);
  PackedBatch batch;
  batch.offsets.push_back(0);
  for (int64_t n : lengths) {
    for (int64_t i = 0; i < n; ++i) {
      batch.token_ids.push_back(int32_t(rng() % vocab));
      batch.token_type_ids.push_back(int32_t(rng() % 2));
    }
    batch.offsets.push_back(int64_t(batch.token_ids.size()));
  }
  return batch;
}

// One sequence's result does not depend on what else is in its batch.
class PackingTest : public ::testing::TestWithParam<DType> {};

TEST_P(PackingTest, SequenceAloneEqualsSequencePackedAmong31Others) {
  auto model = Load("tiny_bert");
  ASSERT_NE(model, nullptr);
  std::vector<int64_t> lengths;
  for (int i = 0; i < 32; ++i) lengths.push_back(1 + (i * 37) % 64);
  const PackedBatch packed = RandomBatch(lengths, model->config.vocab_size, 3);
  EncodeOptions options;
  options.compute_dtype = GetParam();
  auto all = Encode(*model, packed, options);
  ASSERT_TRUE(all.ok()) << all.status();
  const int64_t hidden = model->config.hidden_size;
  for (int64_t s : {0, 7, 31}) {
    PackedBatch alone;
    alone.offsets = {0, packed.offsets[s + 1] - packed.offsets[s]};
    alone.token_ids.assign(packed.token_ids.begin() + packed.offsets[s],
                           packed.token_ids.begin() + packed.offsets[s + 1]);
    alone.token_type_ids.assign(
        packed.token_type_ids.begin() + packed.offsets[s],
        packed.token_type_ids.begin() + packed.offsets[s + 1]);
    auto one = Encode(*model, alone, options);
    ASSERT_TRUE(one.ok()) << one.status();
    float diff = 0;
    for (int64_t i = 0; i < one->hidden.num_elements(); ++i) {
      diff = std::max(
          diff,
          std::fabs(one->hidden.data<float>()[i] -
                    all->hidden.data<float>()[packed.offsets[s] * hidden + i]));
    }
    EXPECT_LE(diff, 1e-5) << "sequence " << s << " of length "
                          << alone.offsets[1];
  }
  // Encode reuses its activation memory per thread: the batch again, now
  // over what the smaller calls left there, gives the same bits.
  auto again = Encode(*model, packed, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(MaxAbsDiff(again->hidden, all->hidden), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(ComputeDTypes, PackingTest,
                         ::testing::Values(DType::kFP32, DType::kBF16));

// Encode is safe to call from several threads at once (each has its own
// oneDNN stream and OpenMP team) and gives the same results as alone.
TEST(EncoderTest, ConcurrentCallsGiveTheSerialResult) {
  auto model = Load("tiny_bert");
  ASSERT_NE(model, nullptr);
  const PackedBatch batch = GoldenInputs();
  auto serial = Encode(*model, batch, EncodeOptions());
  ASSERT_TRUE(serial.ok()) << serial.status();
  std::vector<float> diffs(4, INFINITY);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      float worst = 0;
      for (int repeat = 0; repeat < 5; ++repeat) {
        auto out = Encode(*model, batch, EncodeOptions());
        if (!out.ok()) return;
        worst = std::max(worst, MaxAbsDiff(out->hidden, serial->hidden));
      }
      diffs[t] = worst;
    });
  }
  for (std::thread& t : threads) t.join();
  for (float d : diffs) EXPECT_LE(d, 1e-6);
}

// A LOCAL window that covers every sequence is GLOBAL attention; a narrow
// window changes the result.
TEST(EncoderTest, AttentionOverrideAppliesToEveryLayer) {
  auto model = Load("tiny_bert");
  ASSERT_NE(model, nullptr);
  const PackedBatch batch = GoldenInputs();
  auto global = Encode(*model, batch, EncodeOptions());
  ASSERT_TRUE(global.ok()) << global.status();
  EncodeOptions wide;
  wide.attention = AttentionSpec();
  wide.attention->scope = AttentionSpec::Scope::kLocal;
  wide.attention->window_left = 64;
  wide.attention->window_right = 64;
  auto wide_out = Encode(*model, batch, wide);
  ASSERT_TRUE(wide_out.ok()) << wide_out.status();
  EXPECT_LE(MaxAbsDiff(wide_out->hidden, global->hidden), 1e-5);

  EncodeOptions narrow = wide;
  narrow.attention->window_left = 1;
  narrow.attention->window_right = 1;
  narrow.attention_layers = {0};
  auto narrow_out = Encode(*model, batch, narrow);
  ASSERT_TRUE(narrow_out.ok()) << narrow_out.status();
  EXPECT_GT(MaxAbsDiff(narrow_out->hidden, global->hidden), 1e-2);
  // Sequence 3 (30 tokens): query 10 sees only keys 9..11.
  const Tensor& map = narrow_out->attention[0][3];
  for (int64_t j = 0; j < 30; ++j) {
    const float w = map.data<float>()[10 * 30 + j];
    if (j < 9 || j > 11) {
      EXPECT_EQ(w, 0.0f) << "key " << j;
    }
  }
}

// Longformer global positions past a sequence's end are ignored for that
// sequence, not an error for the whole batch.
TEST(EncoderTest, GlobalPositionsApplyToSequencesLongEnough) {
  auto model = Load("tiny_bert");
  ASSERT_NE(model, nullptr);
  const PackedBatch both = RandomBatch({3, 30}, model->config.vocab_size, 8);
  EncodeOptions options;
  options.attention = AttentionSpec();
  options.attention->scope = AttentionSpec::Scope::kLocal;
  options.attention->window_left = 1;
  options.attention->window_right = 1;
  options.attention->global_positions = {0, 10};
  auto out = Encode(*model, both, options);
  ASSERT_TRUE(out.ok()) << out.status();
  for (int64_t s = 0; s < 2; ++s) {
    PackedBatch alone;
    alone.offsets = {0, both.offsets[s + 1] - both.offsets[s]};
    alone.token_ids.assign(both.token_ids.begin() + both.offsets[s],
                           both.token_ids.begin() + both.offsets[s + 1]);
    alone.token_type_ids.assign(
        both.token_type_ids.begin() + both.offsets[s],
        both.token_type_ids.begin() + both.offsets[s + 1]);
    EncodeOptions alone_options = options;
    if (s == 0) alone_options.attention->global_positions = {0};
    auto one = Encode(*model, alone, alone_options);
    ASSERT_TRUE(one.ok()) << one.status();
    const int64_t hidden = model->config.hidden_size;
    float diff = 0;
    for (int64_t i = 0; i < one->hidden.num_elements(); ++i) {
      diff = std::max(
          diff,
          std::fabs(one->hidden.data<float>()[i] -
                    out->hidden.data<float>()[both.offsets[s] * hidden + i]));
    }
    EXPECT_LE(diff, 1e-5) << "sequence " << s;
  }
}

TEST(EncoderTest, InvalidInputsNameTheField) {
  auto model = Load("tiny_bert");
  ASSERT_NE(model, nullptr);
  const int64_t vocab = model->config.vocab_size;
  struct Case {
    PackedBatch batch;
    EncodeOptions options;
    std::string message;
  };
  std::vector<Case> cases;
  PackedBatch bad_id = RandomBatch({3, 4}, vocab, 1);
  bad_id.token_ids[5] = int32_t(vocab);
  cases.push_back({bad_id, {}, absl::StrCat("token_ids[1].ids[2] is ", vocab)});
  PackedBatch negative_id = RandomBatch({3}, vocab, 1);
  negative_id.token_ids[0] = -1;
  cases.push_back({negative_id, {}, "token_ids[0].ids[0] is -1"});
  PackedBatch bad_type = RandomBatch({3}, vocab, 1);
  bad_type.token_type_ids[1] = 2;
  cases.push_back(
      {bad_type, {}, "token_type_ids[1] is 2, expected a type in [0, 2)"});
  cases.push_back({RandomBatch({3, 65}, vocab, 1),
                   {},
                   "token_ids[1] has 65 tokens, expected at most 64"});
  cases.push_back({RandomBatch({3, 0}, vocab, 1), {}, "token_ids[1] is empty"});
  PackedBatch no_sequences;
  no_sequences.offsets = {0};
  cases.push_back({no_sequences, {}, "no sequence"});
  PackedBatch bad_offsets = RandomBatch({3}, vocab, 1);
  bad_offsets.offsets.back() = 5;
  cases.push_back(
      {bad_offsets, {}, "offsets run from 0 to 5, expected 0 to 3"});
  EncodeOptions bad_layer;
  bad_layer.attention_layers = {0, 2};
  cases.push_back(
      {RandomBatch({3}, vocab, 1), bad_layer,
       "attention_layers[1] is 2, expected -1 (last) or a layer in [0, 2)"});
  for (const Case& c : cases) {
    auto out = Encode(*model, c.batch, c.options);
    ASSERT_FALSE(out.ok()) << c.message;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(out.status().message()), HasSubstr(c.message));
  }
}

TEST(EncoderTest, MultiHeadAttendRejectsBadInputs) {
  auto model = Load("tiny_bert");
  ASSERT_NE(model, nullptr);
  MultiHeadAttendInputs in;
  in.hidden = Tensor::Zeros(DType::kFP32, {2, 3, 32});
  in.layer = 2;
  EXPECT_THAT(std::string(MultiHeadAttend(*model, in).status().message()),
              HasSubstr("layer is 2, expected a layer in [0, 2)"));
  in.layer = 0;
  in.context = Tensor::Zeros(DType::kFP32, {2, 4, 16});
  EXPECT_THAT(std::string(MultiHeadAttend(*model, in).status().message()),
              HasSubstr("context.shape is [2, 4, 16], expected FP32 [batch >= "
                        "1, length >= 1, 32]"));
  in.context = Tensor::Zeros(DType::kFP32, {3, 4, 32});
  EXPECT_THAT(std::string(MultiHeadAttend(*model, in).status().message()),
              HasSubstr("context.shape[0] is 3 but hidden.shape[0] is 2"));
  in.context = Tensor::Zeros(DType::kFP32, {2, 4, 32});
  in.lengths = {4, 5};
  EXPECT_THAT(std::string(MultiHeadAttend(*model, in).status().message()),
              HasSubstr("lengths[1] is 5, expected at most 4"));
  in.lengths = {};
  in.hidden.data<float>()[4] = NAN;
  EXPECT_THAT(std::string(MultiHeadAttend(*model, in).status().message()),
              HasSubstr("hidden contains NaN or Inf"));
  // Finite hidden states whose self-attention scores overflow FP32: an
  // error, not NaN.
  in.context = Tensor();
  for (int64_t i = 0; i < in.hidden.num_elements(); ++i) {
    in.hidden.data<float>()[i] = (i % 3 == 0 ? 1e30f : -2e30f);
  }
  EXPECT_THAT(std::string(MultiHeadAttend(*model, in).status().message()),
              HasSubstr("hidden or context values are too large"));
}

// A query whose keys are all padding gets output = the output bias (attention
// 0).
TEST(EncoderTest, MultiHeadAttendWithZeroLengthGivesZeroWeights) {
  auto model = Load("tiny_bert");
  ASSERT_NE(model, nullptr);
  MultiHeadAttendInputs in;
  in.hidden = Tensor::Zeros(DType::kFP32, {1, 2, 32});
  in.lengths = {0};
  in.return_weights = true;
  auto out = MultiHeadAttend(*model, in);
  ASSERT_TRUE(out.ok()) << out.status();
  for (int64_t i = 0; i < out->weights.num_elements(); ++i) {
    EXPECT_EQ(out->weights.data<float>()[i], 0.0f);
  }
  for (int64_t i = 0; i < out->output.num_elements(); ++i) {
    EXPECT_TRUE(std::isfinite(out->output.data<float>()[i]));
  }
}

TEST(DemoModelTest, IsDeterministicAndUsable) {
  auto first = MakeDemoModel();
  auto second = MakeDemoModel();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  const BertModel& model = *first->model;
  EXPECT_EQ(model.config.hidden_size, 128);
  EXPECT_EQ(model.config.num_layers, 2);
  EXPECT_EQ(model.config.num_heads, 4);
  EXPECT_EQ(int64_t(first->vocab.size()), model.config.vocab_size);
  EXPECT_EQ(first->vocab[0], "[PAD]");
  EXPECT_EQ(first->vocab[2], "[CLS]");
  EXPECT_EQ(first->vocab[3], "[SEP]");
  EXPECT_EQ(first->vocab, second->vocab);
  const PackedBatch batch = RandomBatch({5, 512}, model.config.vocab_size, 9);
  auto a = Encode(model, batch, EncodeOptions());
  auto b = Encode(*second->model, batch, EncodeOptions());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(MaxAbsDiff(a->hidden, b->hidden), 0.0f);
}

}  // namespace
}  // namespace attnserve::core
