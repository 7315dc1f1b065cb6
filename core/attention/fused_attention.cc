#include "core/attention/fused_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/attention/attention_mask.h"
#include "core/base/parallel.h"
#include "core/base/thread_scratch.h"
#include "core/kernels/avx512_math.h"
#include "core/kernels/vector_math.h"
#include "dnnl.hpp"

namespace attnserve::core {
namespace {

using avx512::Exp;
using avx512::ReduceAdd;
using avx512::ReduceMax;
using avx512::TailMask;

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

// A micro tile is kRows query rows x kKeyTile keys: its scores live in
// registers and one [kRows, kKeyTile] buffer in L1.
constexpr int kRows = 4;
constexpr int64_t kKeyTile = 64;
// Output columns per P V pass (4 registers per row).
constexpr int64_t kValueChunk = 64;
// Query rows per task: one task is (batch, head, block of kQueryBlock rows);
// its running output [kQueryBlock, v_dim] stays in L1 / L2 while the block
// walks the keys.
constexpr int64_t kQueryBlock = 64;
// Calls with fewer multiply-adds run on the calling thread: waking the
// thread team costs more.
constexpr int64_t kMinParallelWork = int64_t{1} << 20;

int64_t RoundUp(int64_t n, int64_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

// Where the rows of one operand live: row i of head h of batch item b
// starts at element batch_offsets[b] + h * head_stride + i * row_stride of
// data. [B, H, S, D] tensors have batch_offsets[b] = b * H * S * D,
// head_stride S * D and row_stride D; rows packed as [tokens, ...] (an
// encoder's projections) have head_stride D and a row stride of the whole
// token's width.
struct RowLayout {
  void* data = nullptr;
  std::vector<int64_t> batch_offsets;
  int64_t head_stride = 0;
  int64_t row_stride = 0;

  template <class Element>
  Element* Row(int64_t b, int64_t h, int64_t i) const {
    return static_cast<Element*>(data) + batch_offsets[b] + h * head_stride +
           i * row_stride;
  }
};

// The layout of a contiguous [B, H, S, width] tensor's data.
RowLayout ContiguousLayout(const void* data, int64_t batch, int64_t heads,
                           int64_t length, int64_t width) {
  RowLayout layout;
  layout.data = const_cast<void*>(data);
  for (int64_t b = 0; b < batch; ++b)
    layout.batch_offsets.push_back(b * heads * length * width);
  layout.head_stride = length * width;
  layout.row_stride = width;
  return layout;
}

// What every task of one call reads.
struct Problem {
  int64_t heads, q_len, k_len, head_dim, v_dim;
  float scale;
  bool causal;
  // LOCAL: query i (at key position p = i + Sk - Sq) sees keys
  // [p - window_left, p + window_right] only; tasks then pack and walk only
  // that band, so the cost is linear in the length.
  bool local;
  int64_t window_left, window_right;
  const std::vector<uint32_t>* key_lengths;
  AttentionMaskView mask;
  RowLayout query;  // [B, H, Sq, D] rows in the compute dtype
  RowLayout key;    // [B, H, Sk, D] rows in the compute dtype
  RowLayout value;  // [B, H, Sk, Dv] rows in the compute dtype
  // [B, H, Sq, Dv] rows in output_dtype: FP32, or BF16 (only with BF16
  // compute: NormalizeRowsToBF16 needs avx512_bf16).
  RowLayout output;
  DType output_dtype;
};

// Keys [lo, hi) of a head, and for BF16 their values, repacked for the micro
// kernels (lo a multiple of kKeyTile, below key_lengths[b]). GLOBAL: every
// key the head's queries may see, built once per head by the thread that
// needs it; LOCAL: the band a block of queries sees, built per block. Keys
// are stored in tiles of kKeyTile, so that a tile is one contiguous block
// (no power-of-two strides fighting over L1 sets). Shapes below count keys
// from lo (n_keys = hi - lo).
//   FP32: key_t [tiles, D, kKeyTile]: keys transposed, zero past n_keys;
//     value unused (the kernels read V in place).
//   BF16: key_t [tiles, ceil(D/2), kKeyTile, 2]: pairs of head_dim entries
//     of each key (the vdpbf16ps operand layout), zero past D and n_keys;
//     value [ceil(n_keys/2), ldv, 2]: pairs of consecutive keys of each
//     value column, zero past Dv and n_keys.
struct PackedHead {
  int64_t bh = -1;  // the head packed, -1 for none yet
  int64_t lo = 0, hi = 0;
  const void* key_t = nullptr;
  const void* value = nullptr;
};

// ---------------------------------------------------------------------------
// Micro kernels. Shapes in elements; "rows" are kRows query rows.

// Scores of a micro tile without scale: s[r][c] = q_rows[r] . key c, for keys
// [0, 16 * kVectors) of the tile.
//   q_rows: kRows pointers to [D]   key_t: [D, kKeyTile] (the tile)
//   s: [kRows, kKeyTile]
template <int kVectors>
ATTNSERVE_AVX512 void ScoresF32(const float* const* q_rows, const float* key_t,
                                int64_t head_dim, float* s) {
  const float* q0 = q_rows[0];
  const float* q1 = q_rows[1];
  const float* q2 = q_rows[2];
  const float* q3 = q_rows[3];
  __m512 acc[kRows][kVectors];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  const float* column = key_t;
  for (int64_t d = 0; d < head_dim; ++d, column += kKeyTile) {
    __m512 keys[kVectors];
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j)
      keys[j] = _mm512_loadu_ps(column + 16 * j);
    const __m512 q[kRows] = {_mm512_set1_ps(q0[d]), _mm512_set1_ps(q1[d]),
                             _mm512_set1_ps(q2[d]), _mm512_set1_ps(q3[d])};
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
      for (int j = 0; j < kVectors; ++j)
        acc[r][j] = _mm512_fmadd_ps(q[r], keys[j], acc[r][j]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j)
      _mm512_storeu_ps(s + r * kKeyTile + 16 * j, acc[r][j]);
  }
}

// The same from BF16 pairs: s[r][c] = sum_t q_pairs[r][t] . key_t[t][c].
//   q_pairs: kRows pointers to [pairs] (two BF16 each)
//   key_t: [pairs, kKeyTile, 2] (the tile)   s: [kRows, kKeyTile]
template <int kVectors>
ATTNSERVE_AVX512_BF16 void ScoresBF16(const uint32_t* const* q_pairs,
                                      const uint16_t* key_t, int64_t pairs,
                                      float* s) {
  const uint32_t* q0 = q_pairs[0];
  const uint32_t* q1 = q_pairs[1];
  const uint32_t* q2 = q_pairs[2];
  const uint32_t* q3 = q_pairs[3];
  __m512 acc[kRows][kVectors];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  const uint16_t* column = key_t;
  for (int64_t t = 0; t < pairs; ++t, column += 2 * kKeyTile) {
    __m512i keys[kVectors];
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j)
      keys[j] = _mm512_loadu_si512(column + 32 * j);
    const __m512i q[kRows] = {_mm512_set1_epi32(static_cast<int>(q0[t])),
                              _mm512_set1_epi32(static_cast<int>(q1[t])),
                              _mm512_set1_epi32(static_cast<int>(q2[t])),
                              _mm512_set1_epi32(static_cast<int>(q3[t]))};
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
      for (int j = 0; j < kVectors; ++j) {
        acc[r][j] =
            _mm512_dpbf16_ps(acc[r][j], reinterpret_cast<const __m512bh&>(q[r]),
                             reinterpret_cast<const __m512bh&>(keys[j]));
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j)
      _mm512_storeu_ps(s + r * kKeyTile + 16 * j, acc[r][j]);
  }
}

// One online-softmax step over a micro tile. Row r's logits are
// scale * s[r][c] + mask_rows[r][c * mask_stride] for first[r] <= c <
// end[r] (the keys it sees in this tile, in [0, kKeyTile]; end <= first:
// none), -inf outside; -inf mask entries hide a key. Updates the running
// maximum and the per-lane running sums (both relative to the new maximum) and
// overwrites s with exp(logit - maximum) (0 for hidden keys, all 64 columns
// written). alpha[r] is what the running output must be multiplied by: exp(old
// maximum - new maximum).
//   s: [kRows, kKeyTile]   first, end: [kRows]
//   mask_rows: kRows pointers or nullptr
//   row_max: [kRows]   row_sums: [kRows, 16]   alpha: [kRows]
ATTNSERVE_AVX512 void OnlineSoftmaxTile(
    float* s, int vectors, const int64_t* first, const int64_t* end,
    const float* const* mask_rows, int64_t mask_stride, float scale,
    float* row_max, float* row_sums, float* alpha) {
  const __m512 minus_inf = _mm512_set1_ps(kMinusInf);
  const __m512 scale_v = _mm512_set1_ps(scale);
  // Logits (in place) and the new maxima.
  alignas(16) float old_max[kRows], new_max[kRows];
#pragma GCC unroll 4
  for (int r = 0; r < kRows; ++r) {
    float* row = s + r * kKeyTile;
    old_max[r] = new_max[r] = row_max[r];
    if (end[r] <= first[r]) continue;
    __m512 tile_max = minus_inf;
    for (int j = 0; j < vectors; ++j) {
      const __mmask16 seen =
          TailMask(std::clamp<int64_t>(end[r] - 16 * j, 0, 16)) &
          static_cast<__mmask16>(
              ~TailMask(std::clamp<int64_t>(first[r] - 16 * j, 0, 16)));
      __m512 bias = _mm512_setzero_ps();
      if (mask_rows != nullptr) {
        bias = mask_stride == 0
                   ? _mm512_set1_ps(mask_rows[r][0])
                   : _mm512_maskz_loadu_ps(seen, mask_rows[r] + 16 * j);
      }
      const __m512 x = _mm512_mask_blend_ps(
          seen, minus_inf,
          _mm512_fmadd_ps(_mm512_loadu_ps(row + 16 * j), scale_v, bias));
      _mm512_storeu_ps(row + 16 * j, x);
      tile_max = _mm512_max_ps(tile_max, x);
    }
    new_max[r] = std::max(old_max[r], ReduceMax(tile_max));
  }
  // alpha = exp(old - new): 0 when old is -inf (nothing to rescale), 1 when
  // both are (the row has seen no key yet).
  const __m128 old_v = _mm_load_ps(old_max), new_v = _mm_load_ps(new_max);
  const __mmask16 unseen =
      _mm512_cmp_ps_mask(_mm512_castps128_ps512(new_v), minus_inf, _CMP_EQ_OQ) &
      0xf;
  const __m512 scaled = Exp(_mm512_castps128_ps512(_mm_sub_ps(old_v, new_v)));
  _mm_storeu_ps(alpha, _mm512_castps512_ps128(_mm512_mask_blend_ps(
                           unseen, scaled, _mm512_set1_ps(1.0f))));
#pragma GCC unroll 4
  for (int r = 0; r < kRows; ++r) {
    float* row = s + r * kKeyTile;
    row_max[r] = new_max[r];
    if (end[r] <= first[r] || new_max[r] == kMinusInf) {
#pragma GCC unroll 4
      for (int j = 0; j < kKeyTile / 16; ++j)
        _mm512_storeu_ps(row + 16 * j, _mm512_setzero_ps());
      continue;
    }
    const __m512 shift = _mm512_set1_ps(new_max[r]);
    __m512 sum = _mm512_mul_ps(_mm512_loadu_ps(row_sums + 16 * r),
                               _mm512_set1_ps(alpha[r]));
#pragma GCC unroll 4
    for (int j = 0; j < kKeyTile / 16; ++j) {
      __m512 p = _mm512_setzero_ps();
      if (j < vectors) {
        const __m512 x = _mm512_loadu_ps(row + 16 * j);
        const __mmask16 shown = _mm512_cmp_ps_mask(x, minus_inf, _CMP_NEQ_OQ);
        p = _mm512_maskz_mov_ps(shown, Exp(_mm512_sub_ps(x, shift)));
        sum = _mm512_add_ps(sum, p);
      }
      _mm512_storeu_ps(row + 16 * j, p);
    }
    _mm512_storeu_ps(row_sums + 16 * r, sum);
  }
}

// p_bf16 = bf16(p), round to nearest even.
//   p: [kRows, kKeyTile]   p_bf16: [kRows, kKeyTile]
ATTNSERVE_AVX512_BF16 void TileToBF16(const float* p, uint16_t* p_bf16) {
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
    for (int64_t c = 0; c < kKeyTile; c += 32) {
      const __m512bh packed =
          _mm512_cvtne2ps_pbh(_mm512_loadu_ps(p + r * kKeyTile + c + 16),
                              _mm512_loadu_ps(p + r * kKeyTile + c));
      _mm512_storeu_si512(p_bf16 + r * kKeyTile + c,
                          reinterpret_cast<const __m512i&>(packed));
    }
  }
}

// o[r] = alpha[r] * o[r] + sum_{c < n} p[r][c] * value[c], over 16 * kVectors
// output columns; `last` masks the last register's columns.
//   p: [kRows, kKeyTile]   value: [n, ld_value] at the chunk's first column
//   o: [kRows, ldo] at the chunk's first column   alpha: [kRows]
template <int kVectors>
ATTNSERVE_AVX512 void AccumulateF32(const float* p, int64_t n,
                                    const float* value, int64_t ld_value,
                                    __mmask16 last, const float* alpha,
                                    float* o, int64_t ldo) {
  __m512 acc[kRows][kVectors];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  const float* row = value;
  for (int64_t c = 0; c < n; ++c, row += ld_value) {
    __m512 v[kVectors];
#pragma GCC unroll 16
    for (int j = 0; j + 1 < kVectors; ++j) v[j] = _mm512_loadu_ps(row + 16 * j);
    v[kVectors - 1] = _mm512_maskz_loadu_ps(last, row + 16 * (kVectors - 1));
    const __m512 pc[kRows] = {_mm512_set1_ps(p[c]),
                              _mm512_set1_ps(p[kKeyTile + c]),
                              _mm512_set1_ps(p[2 * kKeyTile + c]),
                              _mm512_set1_ps(p[3 * kKeyTile + c])};
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
      for (int j = 0; j < kVectors; ++j)
        acc[r][j] = _mm512_fmadd_ps(pc[r], v[j], acc[r][j]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
    const __m512 a = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j) {
      float* out = o + r * ldo + 16 * j;
      _mm512_storeu_ps(out,
                       _mm512_fmadd_ps(_mm512_loadu_ps(out), a, acc[r][j]));
    }
  }
}

// The same from BF16 pairs of keys: o[r] = alpha[r] * o[r] +
// sum_{t < pairs} p_pairs[r][t] . value[t].
//   p_pairs: [kRows, kKeyTile / 2] (two BF16 each)
//   value: [pairs, ldv, 2] at the chunk's first column
//   o: [kRows, ldo] at the chunk's first column   alpha: [kRows]
template <int kVectors>
ATTNSERVE_AVX512_BF16 void AccumulateBF16(const uint32_t* p_pairs,
                                          int64_t pairs, const uint16_t* value,
                                          int64_t ldv, const float* alpha,
                                          float* o, int64_t ldo) {
  __m512 acc[kRows][kVectors];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
    const __m512 a = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j)
      acc[r][j] = _mm512_mul_ps(_mm512_loadu_ps(o + r * ldo + 16 * j), a);
  }
  const uint16_t* row = value;
  for (int64_t t = 0; t < pairs; ++t, row += 2 * ldv) {
    __m512i v[kVectors];
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j) v[j] = _mm512_loadu_si512(row + 32 * j);
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      const __m512i pt =
          _mm512_set1_epi32(static_cast<int>(p_pairs[r * kKeyTile / 2 + t]));
#pragma GCC unroll 16
      for (int j = 0; j < kVectors; ++j) {
        acc[r][j] =
            _mm512_dpbf16_ps(acc[r][j], reinterpret_cast<const __m512bh&>(pt),
                             reinterpret_cast<const __m512bh&>(v[j]));
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < kVectors; ++j)
      _mm512_storeu_ps(o + r * ldo + 16 * j, acc[r][j]);
  }
}

// The factor that normalizes row r: 1 / (sum of row_sums[r]), or 0 for a
// row whose running maximum is still -inf (it saw no key).
//   row_max: [rows]   row_sums: [rows, 16]
ATTNSERVE_AVX512 inline __m512 RowNormalizer(const float* row_max,
                                             const float* row_sums, int64_t r) {
  const float sum = ReduceAdd(_mm512_loadu_ps(row_sums + 16 * r));
  return _mm512_set1_ps(row_max[r] == kMinusInf ? 0.0f : 1.0f / sum);
}

// out[r] = o[r] * RowNormalizer(r).
//   o: [rows, ldo]   row_max: [rows]   row_sums: [rows, 16]
//   out: [rows, ld_out] (columns [0, v_dim) written)
ATTNSERVE_AVX512 void NormalizeRows(const float* o, int64_t rows, int64_t ldo,
                                    const float* row_max, const float* row_sums,
                                    int64_t v_dim, float* out, int64_t ld_out) {
  for (int64_t r = 0; r < rows; ++r) {
    const __m512 f = RowNormalizer(row_max, row_sums, r);
    for (int64_t d = 0; d < v_dim; d += 16) {
      const __mmask16 m = TailMask(std::min<int64_t>(16, v_dim - d));
      _mm512_mask_storeu_ps(
          out + r * ld_out + d, m,
          _mm512_mul_ps(_mm512_maskz_loadu_ps(m, o + r * ldo + d), f));
    }
  }
}

// The same rounded to BF16 (nearest even, as ConvertToBF16).
//   o: [rows, ldo]   row_max: [rows]   row_sums: [rows, 16]
//   out: [rows, ld_out] BF16 (columns [0, v_dim) written)
ATTNSERVE_AVX512_BF16 void NormalizeRowsToBF16(
    const float* o, int64_t rows, int64_t ldo, const float* row_max,
    const float* row_sums, int64_t v_dim, uint16_t* out, int64_t ld_out) {
  for (int64_t r = 0; r < rows; ++r) {
    const __m512 f = RowNormalizer(row_max, row_sums, r);
    for (int64_t d = 0; d < v_dim; d += 16) {
      const __mmask16 m = TailMask(std::min<int64_t>(16, v_dim - d));
      const __m256bh packed = _mm512_cvtneps_pbh(
          _mm512_mul_ps(_mm512_maskz_loadu_ps(m, o + r * ldo + d), f));
      _mm256_mask_storeu_epi16(out + r * ld_out + d, m,
                               reinterpret_cast<const __m256i&>(packed));
    }
  }
}

// ---------------------------------------------------------------------------
// Packing.

// out[c] = column c of the 16 x 16 block of 32-bit values in rows (as float
// bit patterns; shuffles only move them).
//   rows: [16] registers of 16   out: [16] registers of 16
ATTNSERVE_AVX512 inline void Transpose16x16(const __m512* rows, __m512* out) {
  // t: pairs of rows interleaved; u[4g + m]: in 128-bit lane L, column
  // 4L + m of rows 4g..4g+3.
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_ps(rows[2 * k], rows[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(rows[2 * k], rows[2 * k + 1]);
  }
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    u[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xee);
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xee);
  }
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) {
    const __m512 x01 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x44);
    const __m512 x23 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xee);
    const __m512 y01 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x44);
    const __m512 y23 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xee);
    out[m] = _mm512_shuffle_f32x4(x01, y01, 0x88);
    out[4 + m] = _mm512_shuffle_f32x4(x01, y01, 0xdd);
    out[8 + m] = _mm512_shuffle_f32x4(x23, y23, 0x88);
    out[12 + m] = _mm512_shuffle_f32x4(x23, y23, 0xdd);
  }
}

// dst[c / kKeyTile][w][c % kKeyTile] = src[c * src_stride + w] for 32-bit
// words, zero for c past n_rows: a transpose (in 16 x 16 blocks) into tiles
// of kKeyTile rows.
//   src: [n_rows, src_stride] (words [0, words) used)
//   dst: [ceil(n_rows / kKeyTile), words, kKeyTile]
ATTNSERVE_AVX512 void Transpose32(const uint32_t* src, int64_t n_rows,
                                  int64_t words, int64_t src_stride,
                                  uint32_t* dst) {
  const auto* in = reinterpret_cast<const float*>(src);
  auto* out = reinterpret_cast<float*>(dst);
  for (int64_t c0 = 0; c0 < RoundUp(n_rows, kKeyTile); c0 += 16) {
    float* tile = out + c0 / kKeyTile * words * kKeyTile + c0 % kKeyTile;
    for (int64_t w0 = 0; w0 < words; w0 += 16) {
      const int64_t block_words = std::min<int64_t>(16, words - w0);
      const __mmask16 m = TailMask(block_words);
      __m512 rows[16], columns[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) {
        rows[i] = c0 + i < n_rows ? _mm512_maskz_loadu_ps(
                                        m, in + (c0 + i) * src_stride + w0)
                                  : _mm512_setzero_ps();
      }
      Transpose16x16(rows, columns);
      for (int64_t w = 0; w < block_words; ++w)
        _mm512_storeu_ps(tile + (w0 + w) * kKeyTile, columns[w]);
    }
  }
}

// Keys transposed into tiles (PackedHead, FP32).
//   key: [n_keys, key_stride] (columns [0, D) used)
//   key_t: [ceil(n_keys / kKeyTile), D, kKeyTile]
void PackKeysF32(const float* key, int64_t n_keys, int64_t head_dim,
                 int64_t key_stride, float* key_t) {
  Transpose32(reinterpret_cast<const uint32_t*>(key), n_keys, head_dim,
              key_stride, reinterpret_cast<uint32_t*>(key_t));
}

// Pairs of head_dim entries of each key, in tiles (PackedHead, BF16):
// key_t[c / kKeyTile][t][c % kKeyTile][e] = key[c][2t + e], zero past n_keys
// and head_dim.
//   key: [n_keys, key_stride] (columns [0, D) used)
//   key_t: [ceil(n_keys / kKeyTile), ceil(D / 2), kKeyTile, 2]
void PackKeysBF16(const uint16_t* key, int64_t n_keys, int64_t head_dim,
                  int64_t key_stride, uint16_t* key_t) {
  const int64_t pairs = (head_dim + 1) / 2;
  if (head_dim % 2 == 0 && key_stride % 2 == 0) {
    // A pair is a 32-bit word of the key's row.
    Transpose32(reinterpret_cast<const uint32_t*>(key), n_keys, pairs,
                key_stride / 2, reinterpret_cast<uint32_t*>(key_t));
    return;
  }
  const int64_t tiles = (n_keys + kKeyTile - 1) / kKeyTile;
  std::memset(key_t, 0, sizeof(uint16_t) * tiles * pairs * kKeyTile * 2);
  for (int64_t c = 0; c < n_keys; ++c) {
    const uint16_t* row = key + c * key_stride;
    uint16_t* tile = key_t + c / kKeyTile * pairs * kKeyTile * 2;
    for (int64_t d = 0; d < head_dim; ++d) {
      tile[((d / 2) * kKeyTile + c % kKeyTile) * 2 + d % 2] = row[d];
    }
  }
}

// packed[t][d][e] = value[2t + e][d], zero past n_keys and v_dim.
//   value: [n_keys, value_stride] (columns [0, Dv) used)
//   packed: [ceil(n_keys / 2), ldv, 2] (ldv a multiple of 16)
ATTNSERVE_AVX512 void PackValuesBF16(const uint16_t* value, int64_t n_keys,
                                     int64_t v_dim, int64_t value_stride,
                                     int64_t ldv, uint16_t* packed) {
  for (int64_t c = 0; c < n_keys; c += 2) {
    const uint16_t* even = value + c * value_stride;
    const uint16_t* odd = c + 1 < n_keys ? even + value_stride : nullptr;
    uint16_t* out = packed + c * ldv;
    for (int64_t d = 0; d < ldv; d += 16) {
      const __mmask16 m = TailMask(std::clamp<int64_t>(v_dim - d, 0, 16));
      const __m512i low =
          _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, even + d));
      const __m512i high =
          odd == nullptr
              ? _mm512_setzero_si512()
              : _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, odd + d));
      _mm512_storeu_si512(out + 2 * d,
                          _mm512_or_si512(low, _mm512_slli_epi32(high, 16)));
    }
  }
}

// ---------------------------------------------------------------------------
// Prefetching.

// Heads whose rows take more bytes are not prefetched: they would push the
// running head's data out of L2.
constexpr int64_t kMaxPrefetchBytes = int64_t{256} << 10;

// Asks for the query, key and value rows of head bh to be brought into L2
// while an earlier head computes, when they are packed per token
// (head_stride < row_stride: an encoder's projections). There each row of a
// head is a short span in another 4 KiB page, which the hardware's stream
// prefetchers do not follow, so without this every row is a cache miss.
template <class Element>
void PrefetchHead(const Problem& p, int64_t bh) {
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const int64_t key_limit =
      p.key_lengths->empty() ? p.k_len : (*p.key_lengths)[b];
  const int64_t bytes =
      (p.q_len * p.head_dim + key_limit * p.head_dim + key_limit * p.v_dim) *
      int64_t(sizeof(Element));
  if (bytes > kMaxPrefetchBytes) return;
  auto prefetch_rows = [&](const RowLayout& layout, int64_t n, int64_t width) {
    if (layout.head_stride >= layout.row_stride) return;
    const int64_t row_bytes = width * int64_t(sizeof(Element));
    for (int64_t i = 0; i < n; ++i) {
      const char* row =
          reinterpret_cast<const char*>(layout.Row<const Element>(b, h, i));
      for (int64_t byte = 0; byte < row_bytes; byte += 64)
        __builtin_prefetch(row + byte, /*rw=*/0, /*locality=*/2);
      __builtin_prefetch(row + row_bytes - 1, /*rw=*/0, /*locality=*/2);
    }
  };
  prefetch_rows(p.query, p.q_len, p.head_dim);
  prefetch_rows(p.key, key_limit, p.head_dim);
  prefetch_rows(p.value, key_limit, p.v_dim);
}

// ---------------------------------------------------------------------------
// One task: query rows [i0, i0 + kQueryBlock) of head bh.
template <bool kBF16>
void RunBlock(const Problem& p, int64_t bh, int64_t i0, PackedHead* head) {
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const int64_t rows = std::min(kQueryBlock, p.q_len - i0);
  const int64_t head_dim = p.head_dim, v_dim = p.v_dim;
  const int64_t pairs = (head_dim + 1) / 2;
  const int64_t ldv = RoundUp(v_dim, 16);
  const int64_t key_limit =
      p.key_lengths->empty() ? p.k_len : (*p.key_lengths)[b];

  // Row r sees keys [first[r], end[r]): below key_lengths[b], up to its
  // position i + Sk - Sq if causal, within the window if local. Padding rows
  // (and rows that see nothing) get an empty range. The block walks the
  // keys [block_begin, block_end).
  constexpr int64_t kMaxRows = kQueryBlock;
  int64_t first[kMaxRows], end[kMaxRows];
  const int64_t padded_rows = RoundUp(rows, kRows);
  int64_t block_begin = key_limit, block_end = 0;
  for (int64_t r = 0; r < padded_rows; ++r) {
    int64_t lo = 0, hi = 0;
    if (r < rows) {
      const int64_t position = i0 + r + p.k_len - p.q_len;
      hi = key_limit;
      if (p.causal) hi = std::min(hi, position + 1);
      if (p.local) {
        lo = std::max<int64_t>(lo, position - p.window_left);
        hi = std::min(hi, position + p.window_right + 1);
      }
      if (hi <= lo) lo = hi = 0;
    }
    first[r] = lo;
    end[r] = hi;
    if (hi > lo) {
      block_begin = std::min(block_begin, lo);
      block_end = std::max(block_end, hi);
    }
  }
  block_begin = block_begin / kKeyTile * kKeyTile;

  // GLOBAL packs every key of the head once; LOCAL the block's band, unless
  // the band packed for the previous block of this head covers it.
  const int64_t pack_lo = p.local ? block_begin : 0;
  const int64_t pack_hi = p.local ? block_end : key_limit;
  if (head->bh != bh || pack_lo < head->lo || pack_hi > head->hi) {
    const bool new_head = head->bh != bh;
    head->bh = bh;
    head->lo = pack_lo;
    head->hi = std::max(pack_lo, pack_hi);
    const int64_t n_keys = head->hi - head->lo;
    const int64_t tiles = (n_keys + kKeyTile - 1) / kKeyTile;
    if constexpr (kBF16) {
      auto* key_t =
          ThreadScratch<uint16_t, 0>(tiles * pairs * kKeyTile * 2 + 1);
      PackKeysBF16(p.key.Row<const uint16_t>(b, h, head->lo), n_keys, head_dim,
                   p.key.row_stride, key_t);
      auto* packed =
          ThreadScratch<uint16_t, 1>(((n_keys + 1) / 2 + 1) * ldv * 2);
      PackValuesBF16(p.value.Row<const uint16_t>(b, h, head->lo), n_keys, v_dim,
                     p.value.row_stride, ldv, packed);
      head->key_t = key_t;
      head->value = packed;
    } else {
      auto* key_t = ThreadScratch<float, 0>(tiles * head_dim * kKeyTile + 1);
      PackKeysF32(p.key.Row<const float>(b, h, head->lo), n_keys, head_dim,
                  p.key.row_stride, key_t);
      head->key_t = key_t;
    }
    // The next head in task order, most often this thread's next one.
    if (new_head && bh + 1 < int64_t(p.query.batch_offsets.size()) * p.heads) {
      PrefetchHead<std::conditional_t<kBF16, uint16_t, float>>(p, bh + 1);
    }
  }

  // Running state of the block's rows (rounded up to whole micro tiles).
  alignas(64) float row_max[kMaxRows];
  alignas(64) float row_sums[kMaxRows * 16];
  alignas(64) float scores[kRows * kKeyTile];
  alignas(64) uint16_t scores_bf16[kRows * kKeyTile];
  alignas(64) float alpha[kRows];
  float* o = ThreadScratch<float, 2>(padded_rows * ldv);
  std::fill(o, o + padded_rows * ldv, 0.0f);
  std::fill(row_max, row_max + padded_rows, kMinusInf);
  std::fill(row_sums, row_sums + padded_rows * 16, 0.0f);

  // BF16 queries as pairs, zero-padded to an even head_dim.
  const uint32_t* q_pairs = nullptr;
  if constexpr (kBF16) {
    auto* q_packed = ThreadScratch<uint32_t, 3>(rows * pairs);
    for (int64_t r = 0; r < rows; ++r) {
      const uint16_t* q_row = p.query.Row<const uint16_t>(b, h, i0 + r);
      auto* out = reinterpret_cast<uint16_t*>(q_packed + r * pairs);
      std::memcpy(out, q_row, sizeof(uint16_t) * head_dim);
      if (head_dim % 2 == 1) out[head_dim] = 0;
    }
    q_pairs = q_packed;
  }

  const int64_t mask_stride = p.mask.key_stride();
  for (int64_t kb = block_begin; kb < block_end; kb += kKeyTile) {
    for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
      // Row r of the micro tile sees columns [row_first[r], row_end[r]) of
      // this key tile; the tile's scores are computed for its columns
      // [0, n).
      int64_t tile_end = kb;
      int64_t row_first[kRows], row_end[kRows];
#pragma GCC unroll 16
      for (int r = 0; r < kRows; ++r) {
        row_first[r] = std::clamp<int64_t>(first[r0 + r] - kb, 0, kKeyTile);
        row_end[r] = std::clamp<int64_t>(end[r0 + r] - kb, 0, kKeyTile);
        if (row_end[r] > row_first[r])
          tile_end = std::max(tile_end, end[r0 + r]);
      }
      if (tile_end <= kb) continue;
      const int64_t n = std::min(kKeyTile, tile_end - kb);
      const int vectors = static_cast<int>((n + 15) / 16);
      const float* mask_rows[kRows];
#pragma GCC unroll 16
      for (int r = 0; r < kRows; ++r) {
        const int64_t i = i0 + std::min<int64_t>(r0 + r, rows - 1);
        if (p.mask.present())
          mask_rows[r] = p.mask.Row(b, h, i) + kb * mask_stride;
      }
      if constexpr (kBF16) {
        const uint32_t* q_rows[kRows];
#pragma GCC unroll 16
        for (int r = 0; r < kRows; ++r)
          q_rows[r] = q_pairs + std::min<int64_t>(r0 + r, rows - 1) * pairs;
        const auto* key_t = static_cast<const uint16_t*>(head->key_t) +
                            (kb - head->lo) / kKeyTile * pairs * kKeyTile * 2;
        switch (vectors) {
          case 1:
            ScoresBF16<1>(q_rows, key_t, pairs, scores);
            break;
          case 2:
            ScoresBF16<2>(q_rows, key_t, pairs, scores);
            break;
          case 3:
            ScoresBF16<3>(q_rows, key_t, pairs, scores);
            break;
          default:
            ScoresBF16<4>(q_rows, key_t, pairs, scores);
            break;
        }
      } else {
        const float* q_rows[kRows];
#pragma GCC unroll 16
        for (int r = 0; r < kRows; ++r) {
          q_rows[r] = p.query.Row<const float>(
              b, h, i0 + std::min<int64_t>(r0 + r, rows - 1));
        }
        const float* key_t = static_cast<const float*>(head->key_t) +
                             (kb - head->lo) / kKeyTile * head_dim * kKeyTile;
        switch (vectors) {
          case 1:
            ScoresF32<1>(q_rows, key_t, head_dim, scores);
            break;
          case 2:
            ScoresF32<2>(q_rows, key_t, head_dim, scores);
            break;
          case 3:
            ScoresF32<3>(q_rows, key_t, head_dim, scores);
            break;
          default:
            ScoresF32<4>(q_rows, key_t, head_dim, scores);
            break;
        }
      }
      OnlineSoftmaxTile(scores, vectors, row_first, row_end,
                        p.mask.present() ? mask_rows : nullptr, mask_stride,
                        p.scale, row_max + r0, row_sums + r0 * 16, alpha);
      float* o_tile = o + r0 * ldv;
      if constexpr (kBF16) {
        TileToBF16(scores, scores_bf16);
        const auto* p_pairs = reinterpret_cast<const uint32_t*>(scores_bf16);
        const int64_t n_pairs = (n + 1) / 2;
        const auto* packed = static_cast<const uint16_t*>(head->value);
        for (int64_t d0 = 0; d0 < ldv; d0 += kValueChunk) {
          const uint16_t* v = packed + (((kb - head->lo) / 2) * ldv + d0) * 2;
          switch (std::min<int64_t>(4, (ldv - d0) / 16)) {
            case 1:
              AccumulateBF16<1>(p_pairs, n_pairs, v, ldv, alpha, o_tile + d0,
                                ldv);
              break;
            case 2:
              AccumulateBF16<2>(p_pairs, n_pairs, v, ldv, alpha, o_tile + d0,
                                ldv);
              break;
            case 3:
              AccumulateBF16<3>(p_pairs, n_pairs, v, ldv, alpha, o_tile + d0,
                                ldv);
              break;
            default:
              AccumulateBF16<4>(p_pairs, n_pairs, v, ldv, alpha, o_tile + d0,
                                ldv);
              break;
          }
        }
      } else {
        const float* v_rows = p.value.Row<const float>(b, h, kb);
        const int64_t ld_value = p.value.row_stride;
        for (int64_t d0 = 0; d0 < ldv; d0 += kValueChunk) {
          const int64_t columns = std::min(kValueChunk, v_dim - d0);
          const __mmask16 last = static_cast<__mmask16>(
              (1u << (columns - (columns - 1) / 16 * 16)) - 1u);
          switch ((columns + 15) / 16) {
            case 1:
              AccumulateF32<1>(scores, n, v_rows + d0, ld_value, last, alpha,
                               o_tile + d0, ldv);
              break;
            case 2:
              AccumulateF32<2>(scores, n, v_rows + d0, ld_value, last, alpha,
                               o_tile + d0, ldv);
              break;
            case 3:
              AccumulateF32<3>(scores, n, v_rows + d0, ld_value, last, alpha,
                               o_tile + d0, ldv);
              break;
            default:
              AccumulateF32<4>(scores, n, v_rows + d0, ld_value, last, alpha,
                               o_tile + d0, ldv);
              break;
          }
        }
      }
    }
  }

  if (p.output_dtype == DType::kBF16) {
    NormalizeRowsToBF16(o, rows, ldv, row_max, row_sums, v_dim,
                        p.output.Row<uint16_t>(b, h, i0), p.output.row_stride);
  } else {
    NormalizeRows(o, rows, ldv, row_max, row_sums, v_dim,
                  p.output.Row<float>(b, h, i0), p.output.row_stride);
  }
}

}  // namespace

bool FusedAttention::CpuSupports(DType compute_dtype) {
  return compute_dtype == DType::kBF16 ? UseAvx512Bf16() : UseAvx512();
}

bool FusedAttention::Supports(const AttentionSpec& spec,
                              const AttentionInputs& in) const {
  const bool local = spec.scope == AttentionSpec::Scope::kLocal;
  if (spec.weighting != AttentionSpec::Weighting::kSoft ||
      (local && (!spec.global_positions.empty() || spec.gaussian_sigma > 0)) ||
      in.return_weights || !CpuSupports(in.compute_dtype)) {
    return false;
  }
  // LOCAL: the alternative is BandedLocalAttention's FP32 rows.
  if (coverage_ == Coverage::kEverywhere || local) return true;
  // Where it beats DenseDnnlAttention (attention_bench BM_Kernel; the
  // measurements are in bench/RESULTS.md, "FusedAttention::Supports
  // thresholds"): FP32 everywhere except head_dim > 64 with at most 256
  // non-causal keys (a tie, dense stays); BF16 everywhere except non-causal
  // calls with >= 32 x 12 batch x heads and >= 512 keys, where dense was
  // faster with 2 threads. Causal always: the fused pass skips the hidden
  // half of the keys. On a CPU with AMX, oneDNN's BF16 matmuls run on the
  // tile unit while vdpbf16ps does no more multiply-adds per cycle than FP32
  // FMAs, so there dense keeps every non-causal BF16 call with >= 512 keys
  // (2.6x-3.4x faster at B=1, S=1024..4096; RESULTS.md, issue 16).
  constexpr int64_t kMaxFP32TiedKeys = 256;
  constexpr int64_t kMinDenseBF16Heads = 32 * 12;
  constexpr int64_t kMinDenseBF16Keys = 512;
  if (in.compute_dtype == DType::kBF16) {
    static const bool amx =
        dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_amx;
    if (spec.causal) return true;
    if (in.key.dim(2) < kMinDenseBF16Keys) return true;
    return !amx && in.query.dim(0) * in.query.dim(1) < kMinDenseBF16Heads;
  }
  return spec.causal || in.query.dim(3) <= 64 ||
         in.key.dim(2) > kMaxFP32TiedKeys;
}

namespace {

// Runs every (batch, head, block of kQueryBlock rows) task of `problem`
// for `batch` batch items, over the thread team when the work is large
// enough.
void RunProblem(const Problem& problem, int64_t batch, bool bf16) {
  const int64_t blocks_per_head =
      (problem.q_len + kQueryBlock - 1) / kQueryBlock;
  // Tasks are numbered head-major, so a thread's contiguous range reuses each
  // head's packed keys and values.
  auto run_tasks = [&](int64_t begin, int64_t end) {
    PackedHead head;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bh = task / blocks_per_head;
      const int64_t i0 = task % blocks_per_head * kQueryBlock;
      if (bf16) {
        RunBlock<true>(problem, bh, i0, &head);
      } else {
        RunBlock<false>(problem, bh, i0, &head);
      }
    }
  };
  const int64_t tasks = batch * problem.heads * blocks_per_head;
  const int64_t keys_per_query =
      problem.local ? std::min(problem.k_len,
                               problem.window_left + problem.window_right + 1)
                    : problem.k_len;
  const int64_t work = batch * problem.heads * problem.q_len * keys_per_query *
                       (problem.head_dim + problem.v_dim);
  if (ComputeThreads() > 1 && work >= kMinParallelWork) {
    ParallelFor(tasks, run_tasks);
  } else {
    run_tasks(0, tasks);
  }
}

}  // namespace

absl::Status FusedAttention::Run(const AttentionSpec& spec,
                                 const AttentionInputs& in,
                                 AttentionOutputs* out) const {
  const int64_t batch = in.query.dim(0), heads = in.query.dim(1),
                q_len = in.query.dim(2), head_dim = in.query.dim(3),
                k_len = in.key.dim(2), v_dim = in.value.dim(3);
  out->output = Tensor(DType::kFP32, {batch, heads, q_len, v_dim});
  const Problem problem{
      heads,
      q_len,
      k_len,
      head_dim,
      v_dim,
      EffectiveScale(spec, head_dim),
      spec.causal,
      spec.scope == AttentionSpec::Scope::kLocal,
      spec.window_left,
      spec.window_right,
      &in.key_lengths,
      AttentionMaskView(in.mask),
      ContiguousLayout(in.query.raw_data(), batch, heads, q_len, head_dim),
      ContiguousLayout(in.key.raw_data(), batch, heads, k_len, head_dim),
      ContiguousLayout(in.value.raw_data(), batch, heads, k_len, v_dim),
      ContiguousLayout(out->output.raw_data(), batch, heads, q_len, v_dim),
      DType::kFP32};
  RunProblem(problem, batch, in.query.dtype() == DType::kBF16);
  return absl::OkStatus();
}

void FusedAttention::RunOnPackedRows(const AttentionSpec& spec, DType dtype,
                                     const void* qkv,
                                     absl::Span<const int64_t> first_rows,
                                     int64_t length, int64_t heads,
                                     int64_t head_dim, const Tensor& mask,
                                     void* out) const {
  FusedSelfAttentionOnPackedRows(spec, dtype, qkv, first_rows, length, heads,
                                 head_dim, mask, out);
}

void FusedSelfAttentionOnPackedRows(const AttentionSpec& spec, DType dtype,
                                    const void* qkv,
                                    absl::Span<const int64_t> first_rows,
                                    int64_t length, int64_t heads,
                                    int64_t head_dim, const Tensor& mask,
                                    void* out) {
  const int64_t batch = int64_t(first_rows.size());
  const int64_t width = heads * head_dim;
  const std::vector<uint32_t> no_key_lengths;
  auto layout = [&](const void* data, int64_t row_stride) {
    RowLayout rows;
    rows.data = const_cast<void*>(data);
    for (int64_t first : first_rows)
      rows.batch_offsets.push_back(first * row_stride);
    rows.head_stride = head_dim;
    rows.row_stride = row_stride;
    return rows;
  };
  const auto* qkv_bytes = static_cast<const char*>(qkv);
  const size_t part_bytes = width * DTypeSize(dtype);
  const Problem problem{heads,
                        length,
                        length,
                        head_dim,
                        head_dim,
                        EffectiveScale(spec, head_dim),
                        spec.causal,
                        spec.scope == AttentionSpec::Scope::kLocal,
                        spec.window_left,
                        spec.window_right,
                        &no_key_lengths,
                        AttentionMaskView(mask),
                        layout(qkv_bytes, 3 * width),
                        layout(qkv_bytes + part_bytes, 3 * width),
                        layout(qkv_bytes + 2 * part_bytes, 3 * width),
                        layout(out, width),
                        dtype};
  RunProblem(problem, batch, dtype == DType::kBF16);
}

}  // namespace attnserve::core
