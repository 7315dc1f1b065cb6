#ifndef ATTNSERVE_CORE_KERNELS_LAYER_NORM_H_
#define ATTNSERVE_CORE_KERNELS_LAYER_NORM_H_

#include <cstdint>

#include "core/base/dtype.h"

namespace attnserve::core {

// Residual add and LayerNorm over each row, as BERT's post-LN blocks:
//   out[r] = (s - mean(s)) / sqrt(var(s) + eps) * gamma + beta,
//   s = a[r] + residual[r]
//   a, residual (nullable: s = a[r]), out: [rows, width] FP32
//   gamma: [width] FP32   beta (nullable: no bias, as LayerNorm(bias=False)):
//   [width] FP32
//   out_bf16 (nullable): [rows, width], a BF16 copy of out
// Rows run in parallel (ParallelFor); AVX-512 when the CPU has it. out may
// alias a or residual.
void AddLayerNorm(const float* a, const float* residual, const float* gamma,
                  const float* beta, float eps, int64_t rows, int64_t width,
                  float* out, BF16* out_bf16);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_KERNELS_LAYER_NORM_H_
