// Every attention implementation (and Attend itself) against golden cases that
// torch computed independently (tests/golden/gen_attention.py).
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "core/attention/attention.h"
#include "core/attention/attention_list.h"
#include "core/attention/validate_attention.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/attention/attention_test_util.h"

namespace attnserve::core {
namespace {

using Json = nlohmann::json;

Json LoadCases() {
  std::ifstream file(ATTNSERVE_SOURCE_DIR "/tests/golden/attention_cases.json");
  std::stringstream text;
  text << file.rdbuf();
  return Json::parse(text.str())["cases"];
}

Tensor TensorFromJson(const Json& j) {
  const std::vector<int64_t> shape = j["shape"].get<std::vector<int64_t>>();
  std::vector<float> values;
  for (const Json& v : j["values"]) {
    // JSON has no infinities; the generator writes -inf as the string "-inf".
    values.push_back(v.is_string() ? -std::numeric_limits<float>::infinity()
                                   : v.get<float>());
  }
  return Tensor::FromFloats(shape, values);
}

AttentionSpec SpecFromJson(const Json& j) {
  AttentionSpec spec;
  if (j.value("weighting", "SOFT") == "HARD")
    spec.weighting = AttentionSpec::Weighting::kHard;
  if (j.value("scope", "GLOBAL") == "LOCAL")
    spec.scope = AttentionSpec::Scope::kLocal;
  spec.top_k = j.value("top_k", 0u);
  spec.window_left = j.value("window_left", 0u);
  spec.window_right = j.value("window_right", 0u);
  spec.global_positions = j.value("global_positions", std::vector<uint32_t>{});
  spec.gaussian_sigma = j.value("gaussian_sigma", 0.0f);
  spec.causal = j.value("causal", false);
  spec.scale = j.value("scale", 0.0f);
  return spec;
}

struct GoldenCase {
  std::string name;
  AttentionSpec spec;
  AttentionInputs in;
  Tensor output;
  Tensor weights;  // empty when the case has none
};

GoldenCase CaseFromJson(const Json& j) {
  GoldenCase c;
  c.name = j["name"].get<std::string>();
  c.spec = SpecFromJson(j["spec"]);
  c.in.query = TensorFromJson(j["query"]);
  c.in.key = TensorFromJson(j["key"]);
  c.in.value = TensorFromJson(j["value"]);
  if (j.contains("mask")) c.in.mask = TensorFromJson(j["mask"]);
  c.in.key_lengths = j["key_lengths"].get<std::vector<uint32_t>>();
  c.in.compute_dtype =
      j["compute_dtype"] == "BF16" ? DType::kBF16 : DType::kFP32;
  c.output = TensorFromJson(j["output"]);
  if (j.contains("weights")) {
    c.weights = TensorFromJson(j["weights"]);
    c.in.return_weights = true;
  }
  return c;
}

// FP32 compute matches torch's float64 to float rounding; BF16 compute rounds
// the probabilities to BF16 before P.V in the oneDNN path.
double Tolerance(const GoldenCase& c) {
  return c.in.compute_dtype == DType::kBF16 ? 3e-2 : 1e-5;
}

void ExpectMatchesGolden(const GoldenCase& c, const AttentionOutputs& out) {
  const double tol = Tolerance(c);
  ASSERT_EQ(out.output.shape(), c.output.shape());
  EXPECT_LE(attention_test::MaxExcess(out.output, c.output, tol), tol)
      << "output";
  if (!c.weights.empty()) {
    ASSERT_EQ(out.weights.shape(), c.weights.shape());
    EXPECT_LE(attention_test::MaxExcess(out.weights, c.weights, tol), tol)
        << "weights";
  }
}

TEST(AttentionGoldenTest, CasesCoverEverySpecOption) {
  const Json cases = LoadCases();
  EXPECT_GE(cases.size(), 40u);
}

TEST(AttentionGoldenTest, EveryImplementationMatchesTorch) {
  int runs = 0;
  for (const Json& j : LoadCases()) {
    const GoldenCase c = CaseFromJson(j);
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(ValidateAttention(c.spec, c.in).ok())
        << ValidateAttention(c.spec, c.in);
    {
      SCOPED_TRACE("Attend");
      AttentionOutputs out;
      ASSERT_TRUE(Attend(c.spec, c.in, &out).ok());
      ExpectMatchesGolden(c, out);
    }
    for (const AttentionImplementation* impl : AttentionImplementations()) {
      if (!impl->Supports(c.spec, c.in)) continue;
      SCOPED_TRACE(std::string(impl->name()));
      AttentionOutputs out;
      ASSERT_TRUE(RunAttention(*impl, c.spec, c.in, &out).ok());
      ExpectMatchesGolden(c, out);
      ++runs;
    }
  }
  EXPECT_GT(runs, 0);
}

TEST(AttentionGoldenTest, BF16InputsAndOutputs) {
  for (const Json& j : LoadCases()) {
    GoldenCase c = CaseFromJson(j);
    if (c.in.compute_dtype != DType::kBF16) continue;
    SCOPED_TRACE(c.name);
    c.in.query = c.in.query.To(DType::kBF16);
    c.in.key = c.in.key.To(DType::kBF16);
    c.in.value = c.in.value.To(DType::kBF16);
    c.in.output_dtype = DType::kBF16;
    AttentionOutputs out;
    ASSERT_TRUE(Attend(c.spec, c.in, &out).ok());
    EXPECT_EQ(out.output.dtype(), DType::kBF16);
    ExpectMatchesGolden(c, out);
  }
}

}  // namespace
}  // namespace attnserve::core
