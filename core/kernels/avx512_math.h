#ifndef ATTNSERVE_CORE_KERNELS_AVX512_MATH_H_
#define ATTNSERVE_CORE_KERNELS_AVX512_MATH_H_

// Inline AVX-512 building blocks shared by the project's own kernels
// (vector_math.cc, fused_attention.cc). Every function carries its target
// attribute, so only call them from functions compiled for (at least)
// ATTNSERVE_AVX512 and only after a run-time check (UseAvx512()).

// GCC 12's AVX-512 intrinsics use _mm512_undefined_ps(), which trips
// -Wuninitialized when inlined (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstdint>

#define ATTNSERVE_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define ATTNSERVE_AVX512_BF16 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

namespace attnserve::core::avx512 {

// Lanes [0, n) of a 16-lane register, n in [0, 16].
ATTNSERVE_AVX512 inline __mmask16 TailMask(int64_t n) {
  return static_cast<__mmask16>((1u << n) - 1u);
}

// Horizontal max / sum.
ATTNSERVE_AVX512 inline float ReduceMax(__m512 v) {
  return _mm512_reduce_max_ps(v);
}

ATTNSERVE_AVX512 inline float ReduceAdd(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0;
  for (float x : lanes) sum += x;
  return sum;
}

// exp(x) for x <= 88, within ~2 ulp (Cephes polynomial); exactly 0 far below.
ATTNSERVE_AVX512 inline __m512 Exp(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
  const __m512 n = _mm512_roundscale_ps(
      _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r),
                      _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

}  // namespace attnserve::core::avx512

#endif  // ATTNSERVE_CORE_KERNELS_AVX512_MATH_H_
