#include "core/kernels/glu.h"

#include <cmath>

#include "core/kernels/avx512_math.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {
namespace {

// The activations in float, as torch computes them for FP32 tensors.
float GeluErf(float x) {
  return 0.5f * x * (1.0f + std::erf(x * float(M_SQRT1_2)));
}
float GeluTanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x *
         (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}
float Silu(float x) { return x / (1.0f + std::exp(-x)); }

void Store(float x, float* out) { *out = x; }
void Store(float x, BF16* out) { *out = FloatToBF16(x); }

template <float (*Act)(float), class T>
void Rows(const float* in, int64_t ld_in, int64_t rows, int64_t width,
          GluActivatedHalf activated, T* out, int64_t ld_out) {
  const int64_t act_offset = activated == GluActivatedHalf::kFirst ? 0 : width;
  const int64_t gate_offset = width - act_offset;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = in + r * ld_in + act_offset;
    const float* g = in + r * ld_in + gate_offset;
    T* o = out + r * ld_out;
    for (int64_t j = 0; j < width; ++j) Store(Act(a[j]) * g[j], o + j);
  }
}

namespace avx = avx512;

// gelu(x) = x * Phi(x) with erf from Abramowitz & Stegun 7.1.26 (absolute
// error <= 1.5e-7).
ATTNSERVE_AVX512 inline __m512 GeluErf16(__m512 x) {
  const __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(float(M_SQRT1_2)));
  const __m512 a = _mm512_abs_ps(z);
  const __m512 t = _mm512_div_ps(
      _mm512_set1_ps(1.0f),
      _mm512_fmadd_ps(a, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  const __m512 e =
      avx::Exp(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), a), a));
  // erf(|z|) = 1 - p e; erf(z) has the sign of z.
  __m512 erf = _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f));
  erf = _mm512_or_ps(erf, _mm512_and_ps(z, _mm512_set1_ps(-0.0f)));
  return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)),
                       _mm512_add_ps(erf, _mm512_set1_ps(1.0f)));
}

// 0.5 x (1 + tanh(y)) = x - x / (exp(2y) + 1), y = sqrt(2/pi)(x + 0.044715x^3).
ATTNSERVE_AVX512 inline __m512 GeluTanh16(__m512 x) {
  const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  const __m512 y =
      _mm512_mul_ps(_mm512_set1_ps(2 * 0.7978845608028654f),
                    _mm512_fmadd_ps(x3, _mm512_set1_ps(0.044715f), x));
  const __m512 d = _mm512_add_ps(avx::Exp(y), _mm512_set1_ps(1.0f));
  return _mm512_sub_ps(x, _mm512_div_ps(x, d));
}

// x / (1 + exp(-x)).
ATTNSERVE_AVX512 inline __m512 Silu16(__m512 x) {
  const __m512 d = _mm512_add_ps(
      avx::Exp(_mm512_sub_ps(_mm512_setzero_ps(), x)), _mm512_set1_ps(1.0f));
  return _mm512_div_ps(x, d);
}

ATTNSERVE_AVX512 inline __m512 Load16(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
ATTNSERVE_AVX512 inline void Store16(__m512 v, __mmask16 m, float* p) {
  _mm512_mask_storeu_ps(p, m, v);
}
// Round to nearest even, as FloatToBF16 (finite values).
ATTNSERVE_AVX512 inline void Store16(__m512 v, __mmask16 m, BF16* p) {
  __m512i u = _mm512_castps_si512(v);
  const __m512i odd =
      _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  u = _mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff)));
  _mm256_mask_storeu_epi16(p, m,
                           _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16)));
}

template <int kAct, class T>
ATTNSERVE_AVX512 void RowsAvx512(const float* in, int64_t ld_in, int64_t rows,
                                 int64_t width, GluActivatedHalf activated,
                                 T* out, int64_t ld_out) {
  const int64_t act_offset = activated == GluActivatedHalf::kFirst ? 0 : width;
  const int64_t gate_offset = width - act_offset;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = in + r * ld_in + act_offset;
    const float* g = in + r * ld_in + gate_offset;
    T* o = out + r * ld_out;
    for (int64_t j = 0; j < width; j += 16) {
      const __mmask16 m = width - j >= 16 ? 0xffff : avx::TailMask(width - j);
      const __m512 x = Load16(a + j, m);
      __m512 y;
      if constexpr (kAct == int(GluActivation::kGeluErf)) {
        y = GeluErf16(x);
      } else if constexpr (kAct == int(GluActivation::kGeluTanh)) {
        y = GeluTanh16(x);
      } else {
        y = Silu16(x);
      }
      Store16(_mm512_mul_ps(y, Load16(g + j, m)), m, o + j);
    }
  }
}

template <class T>
void Dispatch(const float* in, int64_t ld_in, int64_t rows, int64_t width,
              GluActivation activation, GluActivatedHalf activated, T* out,
              int64_t ld_out) {
  if (UseAvx512()) {
    switch (activation) {
      case GluActivation::kGeluErf:
        return RowsAvx512<int(GluActivation::kGeluErf)>(in, ld_in, rows, width,
                                                        activated, out, ld_out);
      case GluActivation::kGeluTanh:
        return RowsAvx512<int(GluActivation::kGeluTanh)>(
            in, ld_in, rows, width, activated, out, ld_out);
      case GluActivation::kSilu:
        return RowsAvx512<int(GluActivation::kSilu)>(in, ld_in, rows, width,
                                                     activated, out, ld_out);
    }
  }
  switch (activation) {
    case GluActivation::kGeluErf:
      return Rows<GeluErf>(in, ld_in, rows, width, activated, out, ld_out);
    case GluActivation::kGeluTanh:
      return Rows<GeluTanh>(in, ld_in, rows, width, activated, out, ld_out);
    case GluActivation::kSilu:
      return Rows<Silu>(in, ld_in, rows, width, activated, out, ld_out);
  }
}

}  // namespace

void GatedActivation(const float* in, int64_t ld_in, int64_t rows,
                     int64_t width, GluActivation activation,
                     GluActivatedHalf activated, float* out, int64_t ld_out) {
  Dispatch(in, ld_in, rows, width, activation, activated, out, ld_out);
}

void GatedActivation(const float* in, int64_t ld_in, int64_t rows,
                     int64_t width, GluActivation activation,
                     GluActivatedHalf activated, BF16* out, int64_t ld_out) {
  Dispatch(in, ld_in, rows, width, activation, activated, out, ld_out);
}

void GatedActivationReference(const float* in, int64_t ld_in, int64_t rows,
                              int64_t width, GluActivation activation,
                              GluActivatedHalf activated, float* out,
                              int64_t ld_out) {
  const int64_t act_offset = activated == GluActivatedHalf::kFirst ? 0 : width;
  const int64_t gate_offset = width - act_offset;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < width; ++j) {
      const double x = in[r * ld_in + act_offset + j];
      const double g = in[r * ld_in + gate_offset + j];
      double y = 0;
      switch (activation) {
        case GluActivation::kGeluErf:
          y = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
          break;
        case GluActivation::kGeluTanh:
          y = 0.5 * x *
              (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
          break;
        case GluActivation::kSilu:
          y = x / (1 + std::exp(-x));
          break;
      }
      out[r * ld_out + j] = float(y * g);
    }
  }
}

}  // namespace attnserve::core
