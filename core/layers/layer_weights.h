#ifndef ATTNSERVE_CORE_LAYERS_LAYER_WEIGHTS_H_
#define ATTNSERVE_CORE_LAYERS_LAYER_WEIGHTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/tensor.h"
#include "core/dnnl/packed_linear.h"
#include "core/io/weight_source.h"

namespace attnserve::core {

// A LayerNorm's learned parameters.
struct NormWeights {
  Tensor gamma;  // [hidden]; empty(): no norm (ModernBERT's layer 0)
  Tensor beta;   // [hidden]; empty(): no bias (LayerNorm(bias=False))
  const float* beta_or_null() const {
    return beta.empty() ? nullptr : beta.data<float>();
  }
};

// One encoder layer's weights, whatever an architecture calls its tensors.
// Where the norms sit is the layer function's (encoder_layer.h).
struct EncoderLayerWeights {
  PackedLinear qkv;               // [hidden] -> [3 * hidden], Q, K, V fused
  PackedLinear attention_output;  // [hidden] -> [hidden]
  NormWeights attention_norm;
  PackedLinear mlp_up;    // [hidden] -> [inner]; gated: [2 * inner]
  PackedLinear mlp_down;  // [inner] -> [hidden]
  NormWeights mlp_norm;
};

// The packed linear map of "<name>.weight" [out, in] and, when `bias`,
// "<name>.bias" [out]. Shapes are checked (errors name the tensor).
absl::StatusOr<PackedLinear> LoadLinear(const WeightSource& source,
                                        const std::string& name, int64_t out,
                                        int64_t in, bool bias = true);

// One packed linear map from several stacked along the output: BERT's query,
// key and value (out = 3 * each), NomicBERT's fc11 and fc12. Each of `names`
// has "<name>.weight" [out_each, in] (and "<name>.bias" [out_each] when
// `bias`).
absl::StatusOr<PackedLinear> LoadStackedLinear(
    const WeightSource& source, const std::vector<std::string>& names,
    int64_t out_each, int64_t in, bool bias = true);

// "<name>.weight" [width] and, when `bias`, "<name>.bias" [width].
absl::StatusOr<NormWeights> LoadNorm(const WeightSource& source,
                                     const std::string& name, int64_t width,
                                     bool bias = true);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_LAYER_WEIGHTS_H_
