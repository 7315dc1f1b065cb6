// The model table: every architecture of tests/golden/models (written by
// gen_models.py, with outputs of an independent float64 torch implementation)
// x {FP32, BF16} x {alone, packed}, loaded through the model_type table.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/io/safetensors.h"
#include "core/layers/pooling.h"
#include "core/model/load_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kModels =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/models/";

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

const nlohmann::json& Inputs() {
  static const nlohmann::json* inputs = new nlohmann::json(
      nlohmann::json::parse(ReadFile(kModels + "inputs.json")));
  return *inputs;
}

// The golden sequences of `arch` (sequence `only`, or all when -1), packed.
PackedBatch GoldenBatch(const std::string& arch, int only = -1) {
  const nlohmann::json& seqs = Inputs()[arch];
  const std::string types_key = arch + "_token_types";
  PackedBatch batch;
  batch.offsets.push_back(0);
  for (size_t s = 0; s < seqs.size(); ++s) {
    if (only >= 0 && int(s) != only) continue;
    for (size_t i = 0; i < seqs[s].size(); ++i) {
      batch.token_ids.push_back(seqs[s][i].get<int32_t>());
      if (Inputs().contains(types_key)) {
        batch.token_type_ids.push_back(
            Inputs()[types_key][s][i].get<int32_t>());
      }
    }
    batch.offsets.push_back(int64_t(batch.token_ids.size()));
  }
  return batch;
}

float MaxAbsDiff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

float MaxAbsDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.num_elements() != b.num_elements()) return INFINITY;
  return MaxAbsDiff(a.data<float>(), b.data<float>(), a.num_elements());
}

struct Arch {
  const char* dir;
  const char* architecture;  // ListModels' architecture
};

void PrintTo(const Arch& a, std::ostream* os) { *os << a.dir; }

class ArchitectureTest : public ::testing::TestWithParam<Arch> {
 protected:
  std::shared_ptr<const EncoderModel> Load() {
    auto model = LoadEncoderModel(kModels + GetParam().dir);
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? *model : nullptr;
  }
  std::map<std::string, Tensor> Expected() {
    return LoadTensors(kModels + GetParam().dir + "/expected.safetensors");
  }
};

// Hidden states, pooled vectors and the attention maps of every layer equal
// the torch float64 reference's (padded, masked batch) in FP32.
TEST_P(ArchitectureTest, Fp32MatchesTorch) {
  auto model = Load();
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->info().architecture, GetParam().architecture);
  auto expected = Expected();
  const PackedBatch batch = GoldenBatch(GetParam().dir);
  EncodeOptions options;
  const int64_t layers = model->info().num_layers;
  for (int32_t l = 0; l < layers; ++l) options.attention_layers.push_back(l);
  auto out = Encode(*model, batch, options);
  ASSERT_TRUE(out.ok()) << out.status();
  const float hidden_error = MaxAbsDiff(out->hidden, expected["hidden"]);
  EXPECT_LE(hidden_error, 1e-4);
  RecordProperty("fp32_max_abs_error", absl::StrCat(hidden_error));
  int maps = 0;
  float map_error = 0;
  for (int32_t l = 0; l < layers; ++l) {
    for (size_t s = 0; s + 1 < batch.offsets.size(); ++s) {
      auto it = expected.find(absl::StrCat("attention.", l, ".", s));
      if (it == expected.end()) continue;
      ++maps;
      map_error =
          std::max(map_error, MaxAbsDiff(out->attention[l][s], it->second));
    }
  }
  EXPECT_GE(maps, 10);
  EXPECT_LE(map_error, 1e-5);
  for (auto [name, pooling] : {std::pair{"pooled_cls", Pooling::kCls},
                               {"pooled_mean", Pooling::kMean},
                               {"pooled_max", Pooling::kMax}}) {
    EXPECT_LE(
        MaxAbsDiff(Pool(out->hidden, batch.offsets, pooling), expected[name]),
        1e-4)
        << name;
  }
  Tensor normalized = Pool(out->hidden, batch.offsets, Pooling::kMean);
  L2NormalizeRows(&normalized);
  EXPECT_LE(MaxAbsDiff(normalized, expected["pooled_mean_normalized"]), 1e-5);
  // Without maps the attention runs on the fast path (the fused kernel on the
  // packed rows: ModernBERT's local windows, MPNet's relative bias), which
  // must agree as well.
  auto fast = Encode(*model, batch, EncodeOptions());
  ASSERT_TRUE(fast.ok()) << fast.status();
  const float fast_error = MaxAbsDiff(fast->hidden, expected["hidden"]);
  EXPECT_LE(fast_error, 1e-4);
  std::printf(
      "%s: FP32 max abs error hidden %.3g (without maps %.3g), attention "
      "maps %.3g\n",
      GetParam().dir, hidden_error, fast_error, map_error);
}

// BF16 compute: every token's state points the same way as the reference's.
TEST_P(ArchitectureTest, Bf16CosinePerToken) {
  auto model = Load();
  ASSERT_NE(model, nullptr);
  auto expected = Expected();
  EncodeOptions options;
  options.compute_dtype = DType::kBF16;
  auto out = Encode(*model, GoldenBatch(GetParam().dir), options);
  ASSERT_TRUE(out.ok()) << out.status();
  const Tensor& want = expected["hidden"];
  ASSERT_EQ(out->hidden.shape(), want.shape());
  const int64_t width = want.dim(1);
  double worst = 1;
  for (int64_t t = 0; t < want.dim(0); ++t) {
    double dot = 0, a2 = 0, b2 = 0;
    for (int64_t i = 0; i < width; ++i) {
      const double a = out->hidden.data<float>()[t * width + i];
      const double b = want.data<float>()[t * width + i];
      dot += a * b;
      a2 += a * a;
      b2 += b * b;
    }
    worst = std::min(worst, dot / std::sqrt(a2 * b2));
  }
  EXPECT_GE(worst, 0.999);
  std::printf("%s: BF16 worst per-token cosine %.6f\n", GetParam().dir, worst);
}

// One sequence alone gives the states it gets packed among the others.
TEST_P(ArchitectureTest, AloneEqualsPacked) {
  auto model = Load();
  ASSERT_NE(model, nullptr);
  const PackedBatch all = GoldenBatch(GetParam().dir);
  for (DType dtype : {DType::kFP32, DType::kBF16}) {
    EncodeOptions options;
    options.compute_dtype = dtype;
    auto packed = Encode(*model, all, options);
    ASSERT_TRUE(packed.ok()) << packed.status();
    const int64_t width = packed->hidden.dim(1);
    for (int s = 0; s + 1 < int(all.offsets.size()); ++s) {
      auto alone = Encode(*model, GoldenBatch(GetParam().dir, s), options);
      ASSERT_TRUE(alone.ok()) << alone.status();
      const int64_t n = all.offsets[s + 1] - all.offsets[s];
      EXPECT_LE(
          MaxAbsDiff(alone->hidden.data<float>(),
                     packed->hidden.data<float>() + all.offsets[s] * width,
                     n * width),
          dtype == DType::kFP32 ? 1e-5 : 2e-2)
          << "sequence " << s << " " << DTypeName(dtype);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, ArchitectureTest,
    ::testing::Values(Arch{"xlm_roberta", "XLMRobertaModel"},
                      Arch{"roberta", "RobertaForMaskedLM"},
                      Arch{"mpnet", "MPNetForMaskedLM"},
                      Arch{"nomic_bert", "NomicBertModel"},
                      Arch{"modernbert", "ModernBertForMaskedLM"}),
    [](const auto& info) { return std::string(info.param.dir); });

// ModernBERT on 8192 tokens (max_position_embeddings): global layers over the
// whole sequence, local ones through the LOCAL window, against the chunked
// float64 reference.
TEST(ModernBertLongTest, Sequence8192MatchesTorch) {
  auto model = LoadEncoderModel(kModels + "modernbert");
  ASSERT_TRUE(model.ok()) << model.status();
  auto expected = LoadTensors(kModels + "modernbert/expected_8192.safetensors");
  PackedBatch batch;
  for (const auto& id : Inputs()["modernbert_8192"]) {
    batch.token_ids.push_back(id.get<int32_t>());
  }
  ASSERT_EQ(batch.token_ids.size(), 8192u);
  batch.offsets = {0, 8192};
  auto out = Encode(**model, batch, EncodeOptions());
  ASSERT_TRUE(out.ok()) << out.status();
  const Tensor& rows = expected["rows"];
  const Tensor& want = expected["hidden"];
  const int64_t width = want.dim(1);
  float error = 0;
  for (int64_t r = 0; r < rows.num_elements(); ++r) {
    const int64_t row = int64_t(rows.data<float>()[r]);
    error = std::max(error, MaxAbsDiff(out->hidden.data<float>() + row * width,
                                       want.data<float>() + r * width, width));
  }
  EXPECT_LE(error, 1e-4);
  std::printf("modernbert 8192 tokens: FP32 max abs error %.3g\n", error);
  // One more token is refused, naming the length.
  batch.token_ids.push_back(5);
  batch.offsets = {0, 8193};
  EXPECT_THAT(Encode(**model, batch, EncodeOptions()).status().message(),
              HasSubstr("8193 tokens, expected at most 8192"));
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
  for (int i = 0; i < 8; ++i) {
    out[i] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  }
  return out + text + bytes.substr(8 + n);
}

struct BadModel {
  const char* arch;
  // Edits config.json (merge patch) when not null.
  nlohmann::json config_patch;
  // Renames this tensor to "unused" (missing), or
  const char* remove_tensor;
  // gives this tensor's header a transposed shape (wrong shape).
  const char* reshape_tensor;
  const char* file;  // the message names this file
  const char* message;
};

TEST(ArchitectureLoadTest, BadDirectoriesNameFileAndTensor) {
  char pattern[] = "/tmp/architectures_test.XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string temp = pattern;
  const nlohmann::json none;
  const BadModel cases[] = {
      {"modernbert", none, "model.layers.1.mlp.Wi.weight", nullptr,
       "model.safetensors", "model.layers.1.mlp.Wi.weight\" is missing"},
      {"modernbert", none, nullptr, "model.layers.2.attn.Wqkv.weight",
       "model.safetensors", "layers.2.attn.Wqkv.weight"},
      {"modernbert", none, "model.layers.1.attn_norm.weight", nullptr,
       "model.safetensors", "model.layers.1.attn_norm.weight\" is missing"},
      {"modernbert",
       {{"norm_bias", true}},
       nullptr,
       nullptr,
       "model.safetensors",
       "model.embeddings.norm.bias\" is missing"},
      {"modernbert",
       {{"global_rope_theta", 0.5}},
       nullptr,
       nullptr,
       "config.json",
       "global_rope_theta is 0.5"},
      {"modernbert",
       {{"local_attention", 15}},
       nullptr,
       nullptr,
       "config.json",
       "local_attention is 15"},
      {"nomic_bert", none, "encoder.layers.0.mlp.fc12.weight", nullptr,
       "model.safetensors", "encoder.layers.0.mlp.fc12.weight\" is missing"},
      {"nomic_bert", none, nullptr, "encoder.layers.1.mlp.fc2.weight",
       "model.safetensors", "encoder.layers.1.mlp.fc2.weight"},
      {"nomic_bert",
       {{"rotary_emb_fraction", 0.1}},
       nullptr,
       nullptr,
       "config.json",
       "rotary_emb_fraction is 0.1"},
      {"nomic_bert",
       {{"rotary_scaling_factor", 2}},
       nullptr,
       nullptr,
       "config.json",
       "rotary_scaling_factor is 2"},
      {"mpnet", none, "mpnet.encoder.relative_attention_bias.weight", nullptr,
       "model.safetensors", "relative_attention_bias.weight\" is missing"},
      {"mpnet", none, nullptr,
       "mpnet.encoder.layer.0.intermediate.dense.weight", "model.safetensors",
       "encoder.layer.0.intermediate.dense.weight"},
      {"xlm_roberta", none, "encoder.layer.1.output.dense.bias", nullptr,
       "model.safetensors", "encoder.layer.1.output.dense.bias\" is missing"},
      {"roberta", none, nullptr,
       "roberta.embeddings.position_embeddings.weight", "model.safetensors",
       "embeddings.position_embeddings.weight"},
      {"xlm_roberta",
       {{"model_type", "gpt2"}, {"architectures", {"GPT2Model"}}},
       nullptr,
       nullptr,
       "config.json",
       "model_type is \"gpt2\""},
  };
  int i = 0;
  for (const BadModel& c : cases) {
    const std::string dir = absl::StrCat(temp, "/", i++, "_", c.arch);
    fs::copy(kModels + c.arch, dir, fs::copy_options::recursive);
    if (!c.config_patch.is_null()) {
      nlohmann::json config =
          nlohmann::json::parse(ReadFile(dir + "/config.json"));
      config.merge_patch(c.config_patch);
      WriteFile(dir + "/config.json", config.dump());
    }
    if (c.remove_tensor != nullptr || c.reshape_tensor != nullptr) {
      const std::string path = dir + "/model.safetensors";
      WriteFile(path,
                EditSafetensorsHeader(ReadFile(path), [&](nlohmann::json& h) {
                  if (c.remove_tensor != nullptr) {
                    h["unused"] = h[c.remove_tensor];
                    h.erase(c.remove_tensor);
                  } else {
                    auto& shape = h[c.reshape_tensor]["shape"];
                    std::reverse(shape.begin(), shape.end());
                  }
                }));
    }
    auto model = LoadEncoderModel(dir);
    ASSERT_FALSE(model.ok()) << dir;
    EXPECT_THAT(model.status().message(), HasSubstr(c.file)) << dir;
    EXPECT_THAT(model.status().message(), HasSubstr(c.message)) << dir;
  }
  fs::remove_all(temp);
}

}  // namespace
}  // namespace attnserve::core
