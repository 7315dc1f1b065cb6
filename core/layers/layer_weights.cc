#include "core/layers/layer_weights.h"

#include <cstring>

#include "core/base/status_macros.h"

namespace attnserve::core {
namespace {

// Concatenates FP32 tensors along axis 0.
Tensor ConcatRows(const std::vector<Tensor>& parts) {
  std::vector<int64_t> shape(parts[0].shape().begin(), parts[0].shape().end());
  shape[0] = 0;
  for (const Tensor& p : parts) shape[0] += p.dim(0);
  Tensor out(DType::kFP32, shape);
  float* dst = out.data<float>();
  for (const Tensor& p : parts) {
    std::memcpy(dst, p.data<float>(), p.num_bytes());
    dst += p.num_elements();
  }
  return out;
}

}  // namespace

absl::StatusOr<PackedLinear> LoadLinear(const WeightSource& source,
                                        const std::string& name, int64_t out,
                                        int64_t in, bool bias) {
  return LoadStackedLinear(source, {name}, out, in, bias);
}

absl::StatusOr<PackedLinear> LoadStackedLinear(
    const WeightSource& source, const std::vector<std::string>& names,
    int64_t out_each, int64_t in, bool bias) {
  std::vector<Tensor> weights, biases;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(Tensor weight,
                     source.Get(name + ".weight", {out_each, in}));
    weights.push_back(std::move(weight));
    if (bias) {
      ASSIGN_OR_RETURN(Tensor b, source.Get(name + ".bias", {out_each}));
      biases.push_back(std::move(b));
    }
  }
  if (names.size() == 1) {
    return PackedLinear::Create(weights[0], bias ? biases[0] : Tensor());
  }
  return PackedLinear::Create(ConcatRows(weights),
                              bias ? ConcatRows(biases) : Tensor());
}

absl::StatusOr<NormWeights> LoadNorm(const WeightSource& source,
                                     const std::string& name, int64_t width,
                                     bool bias) {
  NormWeights norm;
  ASSIGN_OR_RETURN(norm.gamma, source.Get(name + ".weight", {width}));
  if (bias) {
    ASSIGN_OR_RETURN(norm.beta, source.Get(name + ".bias", {width}));
  }
  return norm;
}

}  // namespace attnserve::core
