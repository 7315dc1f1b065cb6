#ifndef ATTNSERVE_CORE_KERNELS_ROTARY_H_
#define ATTNSERVE_CORE_KERNELS_ROTARY_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::core {

// Rotary position embedding (RoPE) in the GPT-NeoX layout that Hugging Face's
// rotate_half uses (ModernBERT, NomicBERT with rotary_emb_interleaved false):
// in each head, the first rotary_dim dims are split in halves and pair
// (i, i + rotary_dim / 2) is rotated by the angle
//   position * base^(-2i / rotary_dim),   i in [0, rotary_dim / 2):
//   x[i]        = x[i] cos - x[i + half] sin
//   x[i + half] = x[i + half] cos + x[i] sin
// Dims [rotary_dim, head_dim) are left as they are (NomicBERT's
// rotary_emb_fraction < 1).
//
// The cos/sin of every position below max_positions are computed once, in
// double and rounded to float, when the table is made (one table per base:
// ModernBERT has a global and a local one).
class RotaryTable {
 public:
  // rotary_dim: even, in [2, 1024]; base: finite, > 1; max_positions in
  // [1, 1 << 20]. Errors name the argument.
  static absl::StatusOr<RotaryTable> Create(int64_t rotary_dim, double base,
                                            int64_t max_positions);

  int64_t rotary_dim() const { return rotary_dim_; }
  double base() const { return base_; }
  int64_t max_positions() const { return max_positions_; }

  // Rotates, in place, every head of each row of x:
  //   x: [rows, ld] FP32; row r holds num_heads heads of head_dim floats from
  //      column 0 (for a fused QKV projection [rows, 3 * hidden], num_heads =
  //      2 * heads covers Q and K in one call)
  //   positions: [rows], each in [0, max_positions) (checked by the caller)
  // Requires rotary_dim <= head_dim and num_heads * head_dim <= ld.
  void Apply(float* x, int64_t rows, int64_t ld, int64_t num_heads,
             int64_t head_dim, const int32_t* positions) const;

 private:
  int64_t rotary_dim_ = 0;
  double base_ = 0;
  int64_t max_positions_ = 0;
  // [max_positions, rotary_dim / 2] each.
  std::vector<float> cos_;
  std::vector<float> sin_;
};

// Scalar reference for tests: the same rotation computed in double from the
// definition above (angles from position and base, no table).
void RotaryReference(float* x, int64_t rows, int64_t ld, int64_t num_heads,
                     int64_t head_dim, int64_t rotary_dim, double base,
                     const int32_t* positions);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_KERNELS_ROTARY_H_
