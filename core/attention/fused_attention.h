#ifndef ATTNSERVE_CORE_ATTENTION_FUSED_ATTENTION_H_
#define ATTNSERVE_CORE_ATTENTION_FUSED_ATTENTION_H_

#include "absl/types/span.h"
#include "core/attention/attention.h"
#include "core/attention/attention_list.h"
#include "core/base/dtype.h"

namespace attnserve::core {

// SOFT attention without weights, GLOBAL or LOCAL (a key window without
// global positions or Gaussian weighting), as one fused pass per block of
// queries of one (batch, head), FlashAttention-style: the block walks the
// keys it may see (LOCAL: only the band of its queries' windows, so the cost
// is linear in the length) in tiles, keeping a running row maximum, row sum and
// output (online softmax), so the scores only ever exist as a [4, 64] tile and
// never as [Sq, Sk]. Own AVX-512 kernels: FP32 with FMA; BF16 (query, key,
// value all BF16) with avx512_bf16 dot products (vdpbf16ps) and FP32
// accumulation, the probabilities rounded to BF16 for P V as
// DenseDnnlAttention does. Any causal / key_lengths / mask, any head_dim and
// v_dim. Blocks of (batch, head, query rows) are spread over the thread team.
class FusedAttention : public AttentionImplementation,
                       public PackedRowsSelfAttention {
 public:
  // Which cases Supports() accepts among those the kernel can compute:
  // kWhereFaster only the shapes where it beats DenseDnnlAttention (the
  // instance in AttentionImplementations()); kEverywhere all of them (tests,
  // benchmarks).
  enum class Coverage { kWhereFaster, kEverywhere };

  explicit FusedAttention(Coverage coverage = Coverage::kWhereFaster)
      : coverage_(coverage) {}

  // True when this CPU runs the kernel for `compute_dtype`: AVX-512, plus
  // avx512_bf16 for BF16.
  static bool CpuSupports(DType compute_dtype);

  absl::string_view name() const override {
    return coverage_ == Coverage::kWhereFaster ? "fused_avx512"
                                               : "fused_avx512_everywhere";
  }
  bool Supports(const AttentionSpec& spec,
                const AttentionInputs& in) const override;
  absl::Status Run(const AttentionSpec& spec, const AttentionInputs& in,
                   AttentionOutputs* out) const override;
  // FusedSelfAttentionOnPackedRows.
  const PackedRowsSelfAttention* packed_rows() const override { return this; }
  void RunOnPackedRows(const AttentionSpec& spec, DType dtype, const void* qkv,
                       absl::Span<const int64_t> first_rows, int64_t length,
                       int64_t heads, int64_t head_dim, const Tensor& mask,
                       void* out) const override;

 private:
  Coverage coverage_;
};

// FusedAttention's kernel as self-attention straight from an encoder's
// packed rows (layout and conditions: PackedRowsSelfAttention in
// attention.h).
void FusedSelfAttentionOnPackedRows(const AttentionSpec& spec, DType dtype,
                                    const void* qkv,
                                    absl::Span<const int64_t> first_rows,
                                    int64_t length, int64_t heads,
                                    int64_t head_dim, const Tensor& mask,
                                    void* out);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_FUSED_ATTENTION_H_
