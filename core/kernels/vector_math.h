#ifndef ATTNSERVE_CORE_KERNELS_VECTOR_MATH_H_
#define ATTNSERVE_CORE_KERNELS_VECTOR_MATH_H_

#include <cstdint>

#include "core/base/dtype.h"

namespace attnserve::core {

// Row kernels shared by the attention implementations. Each has an AVX-512
// version, chosen at run time when the CPU has it, and a portable one.

// True when the AVX-512 versions run.
bool UseAvx512();
// True when UseAvx512() and the CPU also has avx512_bf16 (vdpbf16ps,
// vcvtne2ps2bf16).
bool UseAvx512Bf16();
// Tests: run the portable versions even on an AVX-512 CPU (or stop doing so).
void ForcePortableVectorMathForTesting(bool portable);

// out[c] = scale * sum_d q[d] * keys_t[d * ld + c], for c in [0, n).
//   q: [head_dim]   keys_t: [head_dim, ld] (keys transposed)   out: [n]
void ScaledDotColumns(const float* q, int64_t head_dim, const float* keys_t,
                      int64_t ld, int64_t n, float scale, float* out);

// out[d] += sum_c w[c] * rows[c * v_dim + d], for d in [0, v_dim).
//   w: [n]   rows: [n, v_dim]   out: [v_dim]
void AccumulateWeightedRows(const float* w, int64_t n, const float* rows,
                            int64_t v_dim, float* out);

// x[j] = x[j] * scale + bias[j * bias_stride] for j in [0, n); bias_stride is
// 0 (one value for the row) or 1. bias may be nullptr (no bias).
//   x: [n]
void ScaleAndAddBias(float* x, int64_t n, float scale, const float* bias,
                     int64_t bias_stride);

// max_j x[j] (-inf when n == 0).
//   x: [n]
float RowMax(const float* x, int64_t n);

// x[j] = x[j] * scale + bias[j * bias_stride] (as ScaleAndAddBias), and
// returns the largest new x[j].
//   x: [n]
float ScaleAndAddBiasMax(float* x, int64_t n, float scale, const float* bias,
                         int64_t bias_stride);

// x[j] = exp(x[j] * scale - shift), -inf entries give 0; returns the sum.
//   x: [n]
float ExpAndSum(float* x, int64_t n, float scale, float shift);

// dst[j] = bf16(exp(x[j] * scale - shift)), -inf entries give 0; returns the
// sum of the (unrounded) exponentials. x is left as it was.
//   x: [n]   dst: [n]
float ExpAndSumToBF16(const float* x, int64_t n, float scale, float shift,
                      BF16* dst);

// x[j] *= factor.
//   x: [n]
void ScaleRow(float* x, int64_t n, float factor);

// Softmax over x[0, n) in place; -inf entries are keys that are not there
// and get weight 0. Returns false, with x all 0, when every entry is -inf
// (a query that sees no key).
//   x: [n]
bool SoftmaxInPlace(float* x, int64_t n);

// dst[j] = bf16(src[j]), round to nearest even.
void ConvertToBF16(const float* src, BF16* dst, int64_t n);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_KERNELS_VECTOR_MATH_H_
