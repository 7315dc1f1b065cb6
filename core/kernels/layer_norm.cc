#include "core/kernels/layer_norm.h"

// GCC 12's AVX-512 intrinsics use _mm512_undefined_ps(), which trips
// -Wuninitialized when inlined (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cmath>

#include "core/base/parallel.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {
namespace {

// One row: out = LayerNorm(a + residual). Statistics in two passes (mean,
// then squared deviations) as torch does.
void LayerNormRowPortable(const float* a, const float* residual,
                          const float* gamma, const float* beta, float eps,
                          int64_t width, float* out) {
  float mean = 0;
  for (int64_t i = 0; i < width; ++i) {
    out[i] = residual != nullptr ? a[i] + residual[i] : a[i];
    mean += out[i];
  }
  mean /= float(width);
  float variance = 0;
  for (int64_t i = 0; i < width; ++i) {
    variance += (out[i] - mean) * (out[i] - mean);
  }
  variance /= float(width);
  const float inv_std = 1.0f / std::sqrt(variance + eps);
  for (int64_t i = 0; i < width; ++i) {
    out[i] = (out[i] - mean) * inv_std * gamma[i] +
             (beta != nullptr ? beta[i] : 0.0f);
  }
}

__attribute__((target("avx512f"))) void LayerNormRowAvx512(
    const float* a, const float* residual, const float* gamma,
    const float* beta, float eps, int64_t width, float* out) {
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < width; i += 16) {
    const __mmask16 m = width - i >= 16 ? 0xffff : (1u << (width - i)) - 1;
    __m512 x = _mm512_maskz_loadu_ps(m, a + i);
    if (residual != nullptr) {
      x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, residual + i));
    }
    _mm512_mask_storeu_ps(out + i, m, x);
    sum = _mm512_add_ps(sum, x);
  }
  const float mean = _mm512_reduce_add_ps(sum) / float(width);
  const __m512 mean_v = _mm512_set1_ps(mean);
  __m512 squares = _mm512_setzero_ps();
  for (int64_t i = 0; i < width; i += 16) {
    const __mmask16 m = width - i >= 16 ? 0xffff : (1u << (width - i)) - 1;
    const __m512 d =
        _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, out + i), mean_v);
    squares = _mm512_fmadd_ps(d, d, squares);
  }
  const float variance = _mm512_reduce_add_ps(squares) / float(width);
  const __m512 inv_std = _mm512_set1_ps(1.0f / std::sqrt(variance + eps));
  for (int64_t i = 0; i < width; i += 16) {
    const __mmask16 m = width - i >= 16 ? 0xffff : (1u << (width - i)) - 1;
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, out + i), mean_v);
    const __m512 b = beta != nullptr ? _mm512_maskz_loadu_ps(m, beta + i)
                                     : _mm512_setzero_ps();
    const __m512 y = _mm512_fmadd_ps(_mm512_mul_ps(d, inv_std),
                                     _mm512_maskz_loadu_ps(m, gamma + i), b);
    _mm512_mask_storeu_ps(out + i, m, y);
  }
}

}  // namespace

void AddLayerNorm(const float* a, const float* residual, const float* gamma,
                  const float* beta, float eps, int64_t rows, int64_t width,
                  float* out, BF16* out_bf16) {
  const bool avx512 = UseAvx512();
  ParallelFor(rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* residual_row =
          residual != nullptr ? residual + r * width : nullptr;
      if (avx512) {
        LayerNormRowAvx512(a + r * width, residual_row, gamma, beta, eps, width,
                           out + r * width);
      } else {
        LayerNormRowPortable(a + r * width, residual_row, gamma, beta, eps,
                             width, out + r * width);
      }
      if (out_bf16 != nullptr) {
        ConvertToBF16(out + r * width, out_bf16 + r * width, width);
      }
    }
  });
}

}  // namespace attnserve::core
