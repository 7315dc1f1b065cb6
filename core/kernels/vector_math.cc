#include "core/kernels/vector_math.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "core/kernels/avx512_math.h"

namespace attnserve::core {
namespace {

using avx512::Exp;
using avx512::ReduceAdd;
using avx512::ReduceMax;
using avx512::TailMask;

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

ATTNSERVE_AVX512 void ScaledDotColumnsAvx512(const float* q, int64_t head_dim,
                                             const float* keys_t, int64_t ld,
                                             int64_t n, float scale,
                                             float* out) {
  const __m512 s = _mm512_set1_ps(scale);
  int64_t c = 0;
  for (; c + 64 <= n; c += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    const float* col = keys_t + c;
    for (int64_t d = 0; d < head_dim; ++d, col += ld) {
      const __m512 qd = _mm512_set1_ps(q[d]);
      a0 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(col), a0);
      a1 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(col + 16), a1);
      a2 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(col + 32), a2);
      a3 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(col + 48), a3);
    }
    _mm512_storeu_ps(out + c, _mm512_mul_ps(a0, s));
    _mm512_storeu_ps(out + c + 16, _mm512_mul_ps(a1, s));
    _mm512_storeu_ps(out + c + 32, _mm512_mul_ps(a2, s));
    _mm512_storeu_ps(out + c + 48, _mm512_mul_ps(a3, s));
  }
  for (; c < n; c += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, n - c));
    __m512 a = _mm512_setzero_ps();
    const float* col = keys_t + c;
    for (int64_t d = 0; d < head_dim; ++d, col += ld) {
      a = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_maskz_loadu_ps(m, col),
                          a);
    }
    _mm512_mask_storeu_ps(out + c, m, _mm512_mul_ps(a, s));
  }
}

ATTNSERVE_AVX512 void AccumulateWeightedRowsAvx512(const float* w, int64_t n,
                                                   const float* rows,
                                                   int64_t v_dim, float* out) {
  int64_t d = 0;
  for (; d + 64 <= v_dim; d += 64) {
    __m512 a0 = _mm512_loadu_ps(out + d), a1 = _mm512_loadu_ps(out + d + 16);
    __m512 a2 = _mm512_loadu_ps(out + d + 32),
           a3 = _mm512_loadu_ps(out + d + 48);
    const float* row = rows + d;
    for (int64_t c = 0; c < n; ++c, row += v_dim) {
      const __m512 wc = _mm512_set1_ps(w[c]);
      a0 = _mm512_fmadd_ps(wc, _mm512_loadu_ps(row), a0);
      a1 = _mm512_fmadd_ps(wc, _mm512_loadu_ps(row + 16), a1);
      a2 = _mm512_fmadd_ps(wc, _mm512_loadu_ps(row + 32), a2);
      a3 = _mm512_fmadd_ps(wc, _mm512_loadu_ps(row + 48), a3);
    }
    _mm512_storeu_ps(out + d, a0);
    _mm512_storeu_ps(out + d + 16, a1);
    _mm512_storeu_ps(out + d + 32, a2);
    _mm512_storeu_ps(out + d + 48, a3);
  }
  for (; d < v_dim; d += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, v_dim - d));
    __m512 a = _mm512_maskz_loadu_ps(m, out + d);
    const float* row = rows + d;
    for (int64_t c = 0; c < n; ++c, row += v_dim) {
      a = _mm512_fmadd_ps(_mm512_set1_ps(w[c]), _mm512_maskz_loadu_ps(m, row),
                          a);
    }
    _mm512_mask_storeu_ps(out + d, m, a);
  }
}

ATTNSERVE_AVX512 void ScaleAndAddBiasAvx512(float* x, int64_t n, float scale,
                                            const float* bias,
                                            int64_t bias_stride) {
  const __m512 s = _mm512_set1_ps(scale);
  const bool per_key = bias != nullptr && bias_stride != 0;
  const __m512 row_bias =
      _mm512_set1_ps(bias != nullptr && bias_stride == 0 ? bias[0] : 0.0f);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, n - j));
    const __m512 b = per_key ? _mm512_maskz_loadu_ps(m, bias + j) : row_bias;
    _mm512_mask_storeu_ps(
        x + j, m, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + j), s, b));
  }
}

ATTNSERVE_AVX512 float RowMaxAvx512(const float* x, int64_t n) {
  __m512 vmax = _mm512_set1_ps(kMinusInf);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, n - j));
    vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(vmax, m, x + j));
  }
  return ReduceMax(vmax);
}

ATTNSERVE_AVX512 float ScaleAndAddBiasMaxAvx512(float* x, int64_t n,
                                                float scale, const float* bias,
                                                int64_t bias_stride) {
  const __m512 s = _mm512_set1_ps(scale);
  const bool per_key = bias != nullptr && bias_stride != 0;
  const __m512 row_bias =
      _mm512_set1_ps(bias != nullptr && bias_stride == 0 ? bias[0] : 0.0f);
  __m512 vmax = _mm512_set1_ps(kMinusInf);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, n - j));
    const __m512 b = per_key ? _mm512_maskz_loadu_ps(m, bias + j) : row_bias;
    const __m512 y = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + j), s, b);
    _mm512_mask_storeu_ps(x + j, m, y);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, y);
  }
  return ReduceMax(vmax);
}

ATTNSERVE_AVX512 float ExpAndSumAvx512(float* x, int64_t n, float scale,
                                       float shift) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 minus_shift = _mm512_set1_ps(-shift);
  __m512 vsum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, n - j));
    const __m512 e =
        Exp(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + j), s, minus_shift));
    vsum = _mm512_mask_add_ps(vsum, m, vsum, e);
    _mm512_mask_storeu_ps(x + j, m, e);
  }
  return ReduceAdd(vsum);
}

ATTNSERVE_AVX512 void ScaleRowAvx512(float* x, int64_t n, float factor) {
  const __m512 f = _mm512_set1_ps(factor);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, n - j));
    _mm512_mask_storeu_ps(x + j, m,
                          _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), f));
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void
ConvertToBF16Avx512Bf16(const float* src, BF16* dst, int64_t n) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, n - j));
    const __m256bh packed =
        _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + j));
    _mm256_mask_storeu_epi16(dst + j, m,
                             reinterpret_cast<const __m256i&>(packed));
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16"))) float
ExpAndSumToBF16Avx512Bf16(const float* x, int64_t n, float scale, float shift,
                          BF16* dst) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 minus_shift = _mm512_set1_ps(-shift);
  __m512 vsum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(std::min<int64_t>(16, n - j));
    const __m512 e =
        Exp(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + j), s, minus_shift));
    vsum = _mm512_mask_add_ps(vsum, m, vsum, e);
    const __m256bh packed = _mm512_cvtneps_pbh(e);
    _mm256_mask_storeu_epi16(dst + j, m,
                             reinterpret_cast<const __m256i&>(packed));
  }
  return ReduceAdd(vsum);
}

bool CpuHasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq");
}

bool CpuHasAvx512Bf16() {
  // __builtin_cpu_supports has no "avx512bf16" in GCC 12: CPUID leaf 7
  // subleaf 1, EAX bit 5.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __asm__("cpuid"
          : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
          : "a"(7), "c"(1));
  return CpuHasAvx512() && (eax & (1u << 5)) != 0;
}

std::atomic<bool> force_portable{false};

}  // namespace

bool UseAvx512() {
  static const bool cpu_has_avx512 = CpuHasAvx512();
  return cpu_has_avx512 && !force_portable.load(std::memory_order_relaxed);
}

bool UseAvx512Bf16() {
  static const bool cpu_has_avx512_bf16 = CpuHasAvx512Bf16();
  return cpu_has_avx512_bf16 && UseAvx512();
}

void ForcePortableVectorMathForTesting(bool portable) {
  force_portable = portable;
}

void ScaledDotColumns(const float* q, int64_t head_dim, const float* keys_t,
                      int64_t ld, int64_t n, float scale, float* out) {
  if (UseAvx512())
    return ScaledDotColumnsAvx512(q, head_dim, keys_t, ld, n, scale, out);
  std::fill(out, out + n, 0.0f);
  for (int64_t d = 0; d < head_dim; ++d) {
    const float* col = keys_t + d * ld;
    for (int64_t c = 0; c < n; ++c) out[c] += q[d] * col[c];
  }
  for (int64_t c = 0; c < n; ++c) out[c] *= scale;
}

void AccumulateWeightedRows(const float* w, int64_t n, const float* rows,
                            int64_t v_dim, float* out) {
  if (UseAvx512()) return AccumulateWeightedRowsAvx512(w, n, rows, v_dim, out);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t d = 0; d < v_dim; ++d) out[d] += w[c] * rows[c * v_dim + d];
  }
}

void ScaleAndAddBias(float* x, int64_t n, float scale, const float* bias,
                     int64_t bias_stride) {
  if (UseAvx512()) return ScaleAndAddBiasAvx512(x, n, scale, bias, bias_stride);
  for (int64_t j = 0; j < n; ++j) {
    x[j] = x[j] * scale + (bias != nullptr ? bias[j * bias_stride] : 0.0f);
  }
}

float RowMax(const float* x, int64_t n) {
  if (UseAvx512()) return RowMaxAvx512(x, n);
  float max = kMinusInf;
  for (int64_t j = 0; j < n; ++j) max = std::max(max, x[j]);
  return max;
}

float ScaleAndAddBiasMax(float* x, int64_t n, float scale, const float* bias,
                         int64_t bias_stride) {
  if (UseAvx512()) {
    return ScaleAndAddBiasMaxAvx512(x, n, scale, bias, bias_stride);
  }
  ScaleAndAddBias(x, n, scale, bias, bias_stride);
  return RowMax(x, n);
}

float ExpAndSum(float* x, int64_t n, float scale, float shift) {
  if (UseAvx512()) return ExpAndSumAvx512(x, n, scale, shift);
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = std::exp(x[j] * scale - shift);
    sum += x[j];
  }
  return sum;
}

float ExpAndSumToBF16(const float* x, int64_t n, float scale, float shift,
                      BF16* dst) {
  if (UseAvx512Bf16()) {
    return ExpAndSumToBF16Avx512Bf16(x, n, scale, shift, dst);
  }
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float e = std::exp(x[j] * scale - shift);
    sum += e;
    dst[j] = FloatToBF16(e);
  }
  return sum;
}

void ScaleRow(float* x, int64_t n, float factor) {
  if (UseAvx512()) return ScaleRowAvx512(x, n, factor);
  for (int64_t j = 0; j < n; ++j) x[j] *= factor;
}

bool SoftmaxInPlace(float* x, int64_t n) {
  const float max = RowMax(x, n);
  if (max == kMinusInf) {
    std::fill(x, x + n, 0.0f);
    return false;
  }
  ScaleRow(x, n, 1.0f / ExpAndSum(x, n, 1.0f, max));
  return true;
}

void ConvertToBF16(const float* src, BF16* dst, int64_t n) {
  if (UseAvx512Bf16()) return ConvertToBF16Avx512Bf16(src, dst, n);
  FloatToBF16(src, dst, n);
}

}  // namespace attnserve::core
