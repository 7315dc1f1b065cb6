// Fuzzes AttentionSpec validation and runs small attentions: the input bytes
// pick the spec (every field, including out-of-range windows, top_k,
// global_positions, non-finite sigma and scale), the shapes (up to
// [2, 2, 8, 8]), an optional broadcast mask, key_lengths and dtypes; values
// come from a generator seeded by the input. When core::ValidateAttention
// accepts the case, every implementation that supports it runs and must give
// finite outputs and weight rows that sum to 1 (or are all 0); for
// deterministic FP32 soft attention each must also match the reference.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/attention/attention.h"
#include "core/attention/attention_list.h"
#include "core/attention/validate_attention.h"
#include "core/base/tensor.h"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

uint32_t ReadCount(ByteReader& reader, uint32_t typical_bound) {
  // Mostly small, sometimes any 32-bit value (overflow probes).
  if (reader.ReadBelow(8) == 7) return reader.Read<uint32_t>();
  return reader.ReadBelow(typical_bound);
}

float ReadFloat(ByteReader& reader, float typical) {
  switch (reader.ReadBelow(4)) {
    case 0:
      return 0.0f;
    case 1:
      return reader.Read<float>();  // any bit pattern: NaN, Inf, denormals
    default:
      return typical * (1 + reader.ReadBelow(8)) / 4.0f;
  }
}

core::Tensor RandomTensor(std::vector<int64_t> shape, std::mt19937& rng) {
  core::Tensor tensor(core::DType::kFP32, std::move(shape));
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  float* data = tensor.data<float>();
  for (int64_t i = 0; i < tensor.num_elements(); ++i) data[i] = uniform(rng);
  return tensor;
}

bool AllFinite(const core::Tensor& tensor) {
  for (int64_t i = 0; i < tensor.num_elements(); ++i) {
    if (!std::isfinite(tensor.GetFloat(i))) return false;
  }
  return true;
}

// weights: [B, H, Sq, Sk]; each row sums to 1 or is all 0.
void CheckWeightRows(const core::Tensor& weights) {
  const int64_t k_len = weights.dim(3);
  const float* w = weights.data<float>();
  for (int64_t row = 0; row < weights.num_elements() / k_len; ++row) {
    double sum = 0;
    for (int64_t j = 0; j < k_len; ++j) {
      FUZZ_CHECK(w[row * k_len + j] >= 0.0f);
      sum += w[row * k_len + j];
    }
    FUZZ_CHECK(sum == 0.0 || std::fabs(sum - 1.0) < 1e-3);
  }
}

void CheckClose(const core::Tensor& actual, const core::Tensor& expected) {
  FUZZ_CHECK(actual.num_elements() == expected.num_elements());
  for (int64_t i = 0; i < actual.num_elements(); ++i) {
    FUZZ_CHECK(std::fabs(actual.GetFloat(i) - expected.GetFloat(i)) <= 1e-3f);
  }
}

void Fuzz(ByteReader& reader) {
  core::AttentionSpec spec;
  spec.weighting = reader.ReadBool() ? core::AttentionSpec::Weighting::kHard
                                     : core::AttentionSpec::Weighting::kSoft;
  spec.top_k = ReadCount(reader, 10);
  spec.sample = reader.ReadBool();
  spec.seed = reader.Read<uint8_t>();
  spec.scope = reader.ReadBool() ? core::AttentionSpec::Scope::kLocal
                                 : core::AttentionSpec::Scope::kGlobal;
  spec.window_left = ReadCount(reader, 10);
  spec.window_right = ReadCount(reader, 10);
  const uint32_t num_global = reader.ReadBelow(4);
  for (uint32_t i = 0; i < num_global; ++i) {
    spec.global_positions.push_back(ReadCount(reader, 10));
  }
  spec.gaussian_sigma = ReadFloat(reader, 2.0f);
  spec.causal = reader.ReadBool();
  spec.scale = ReadFloat(reader, 0.5f);

  const int64_t batch = 1 + reader.ReadBelow(2);
  const int64_t heads = 1 + reader.ReadBelow(2);
  const int64_t q_len = 1 + reader.ReadBelow(8);
  const int64_t k_len = 1 + reader.ReadBelow(8);
  const int64_t head_dim = 1 + reader.ReadBelow(8);
  const int64_t v_dim = 1 + reader.ReadBelow(8);
  const uint8_t mask_bits = reader.Read<uint8_t>();
  const bool with_key_lengths = reader.ReadBool();
  std::vector<uint32_t> key_lengths;
  if (with_key_lengths) {
    // Usually one per batch item; sometimes one too many (invalid).
    const int64_t count = batch + (reader.ReadBelow(8) == 0 ? 1 : 0);
    for (int64_t b = 0; b < count; ++b) {
      key_lengths.push_back(reader.ReadBelow(static_cast<uint32_t>(k_len + 2)));
    }
  }
  const bool bf16 = reader.ReadBool();
  const bool return_weights = reader.ReadBool();
  std::mt19937 rng(reader.Read<uint32_t>());

  core::AttentionInputs in;
  in.query = RandomTensor({batch, heads, q_len, head_dim}, rng);
  in.key = RandomTensor({batch, heads, k_len, head_dim}, rng);
  in.value = RandomTensor({batch, heads, k_len, v_dim}, rng);
  if (mask_bits & 1) {
    // Each dim broadcast (1) or full; bit 5 makes some entries -inf.
    const int64_t full[4] = {batch, heads, q_len, k_len};
    std::vector<int64_t> mask_shape;
    for (int d = 0; d < 4; ++d) {
      mask_shape.push_back((mask_bits >> (d + 1)) & 1 ? full[d] : 1);
    }
    in.mask = RandomTensor(mask_shape, rng);
    if (mask_bits & 0x20) {
      float* m = in.mask.data<float>();
      for (int64_t i = 0; i < in.mask.num_elements(); i += 2) {
        m[i] = -std::numeric_limits<float>::infinity();
      }
    }
  }
  in.key_lengths = key_lengths;
  in.compute_dtype = bf16 ? core::DType::kBF16 : core::DType::kFP32;
  in.output_dtype = core::DType::kFP32;
  in.return_weights = return_weights;

  absl::Status spec_status = core::ValidateAttentionSpec(spec, k_len);
  absl::Status status = core::ValidateAttention(spec, in);
  if (!spec_status.ok()) FUZZ_CHECK(!status.ok());
  if (!status.ok()) {
    FUZZ_CHECK(!status.message().empty());
    return;
  }

  core::AttentionOutputs reference;
  FUZZ_CHECK(core::RunAttention(core::ReferenceAttentionImplementation(), spec,
                                in, &reference)
                 .ok());
  // Deterministic FP32 cases whose logits stay in float range: a huge scale
  // or a sigma below 0.01 (logit penalties > 1e4 per key step) differ between
  // the float kernels and the double reference by rounding alone.
  const bool comparable =
      !bf16 && spec.weighting == core::AttentionSpec::Weighting::kSoft &&
      std::fabs(spec.scale) <= 4.0f &&
      (spec.gaussian_sigma == 0 || spec.gaussian_sigma >= 0.01f);
  for (const core::AttentionImplementation* impl :
       core::AttentionImplementations()) {
    if (!impl->Supports(spec, in)) continue;
    core::AttentionOutputs out;
    FUZZ_CHECK(core::RunAttention(*impl, spec, in, &out).ok());
    FUZZ_CHECK(out.output.num_elements() == batch * heads * q_len * v_dim);
    FUZZ_CHECK(AllFinite(out.output));
    if (return_weights) {
      FUZZ_CHECK(out.weights.num_elements() == batch * heads * q_len * k_len);
      FUZZ_CHECK(AllFinite(out.weights));
      CheckWeightRows(out.weights);
    }
    if (comparable) {
      CheckClose(out.output, reference.output);
      if (return_weights) CheckClose(out.weights, reference.weights);
    }
  }
  core::AttentionOutputs attended;
  FUZZ_CHECK(core::Attend(spec, in, &attended).ok());
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attnserve::fuzz::ByteReader reader(data, size);
  attnserve::fuzz::Fuzz(reader);
  return 0;
}
