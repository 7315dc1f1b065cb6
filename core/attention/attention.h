#ifndef ATTNSERVE_CORE_ATTENTION_ATTENTION_H_
#define ATTNSERVE_CORE_ATTENTION_ATTENTION_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/base/tensor.h"

namespace attnserve::core {

// What attention to compute (CONTRACT.md §4 AttentionSpec, §8 semantics).
struct AttentionSpec {
  enum class Weighting { kSoft, kHard };
  enum class Scope { kGlobal, kLocal };

  Weighting weighting = Weighting::kSoft;
  uint32_t top_k = 0;   // kHard: keys kept per query (>= 1)
  bool sample = false;  // kHard: draw top_k keys without replacement
  uint64_t seed = 0;
  Scope scope = Scope::kGlobal;
  uint32_t window_left =
      0;  // kLocal: query at p sees keys p-window_left..p+window_right
  uint32_t window_right = 0;
  std::vector<uint32_t>
      global_positions;      // kLocal: Longformer global key positions
  float gaussian_sigma = 0;  // kLocal, > 0: Luong local-p weighting
  bool causal = false;       // key j visible only if j <= p
  float scale = 0;           // 0 -> 1/sqrt(head_dim)
};

// Inputs of one attention call. All tensors are rank 4 (callers add the head
// axis for single-head inputs); q, k, v share one dtype (FP32 or BF16).
//   query: [B, H, Sq, D]   key: [B, H, Sk, D]   value: [B, H, Sk, Dv]
//   mask (optional, FP32): rank 4, each dim 1 or the full size of
//     [B, H, Sq, Sk] (numpy broadcasting after left-padding with 1s)
//   key_lengths: empty, or B entries; keys j >= key_lengths[b] are padding.
// Query i sits at key position p = i + (Sk - Sq).
struct AttentionInputs {
  Tensor query;
  Tensor key;
  Tensor value;
  Tensor mask;  // empty() when absent
  std::vector<uint32_t> key_lengths;
  DType compute_dtype = DType::kFP32;
  DType output_dtype = DType::kFP32;
  bool return_weights = false;
};

//   output: [B, H, Sq, Dv] in output_dtype
//   weights (when requested): [B, H, Sq, Sk] FP32; each row sums to 1, or is
//     all 0 for a query that sees no key.
struct AttentionOutputs {
  Tensor output;
  Tensor weights;
};

// Validates (ValidateAttention), then runs the first implementation in
// AttentionImplementations() (attention_list.h) that supports the case. For
// tensors from outside the process.
absl::Status Attend(const AttentionSpec& spec, const AttentionInputs& in,
                    AttentionOutputs* out);

// Attend for inputs the caller computed itself from already checked data (the
// encoder's activations, MultiHeadAttend's projections): validates spec and
// shapes only (ValidateAttentionShapes), not the values, whose O(n) scan
// would run serially on every layer. NaN or Inf in the inputs propagate to
// the output instead of being reported.
absl::Status AttendUncheckedValues(const AttentionSpec& spec,
                                   const AttentionInputs& in,
                                   AttentionOutputs* out);

// Self-attention straight from an encoder's packed rows, without splitting
// and merging heads: sequence b's token i is row first_rows[b] + i of qkv,
// holding its query, key and value for all heads; its output for all heads
// goes to the same row of out.
//   qkv: [rows, 3 * heads * head_dim] in `dtype` (FP32 or BF16): columns
//     part * heads * head_dim + h * head_dim + [0, head_dim) are head h's
//     query (part 0), key (1) and value (2)
//   out: [rows, heads * head_dim] in `dtype`: columns h * head_dim + [0,
//     head_dim) are head h's output
//   mask: empty, or an additive FP32 mask broadcastable to [B, heads,
//     length, length] (AttentionInputs::mask, validated; e.g. MPNet's
//     relative position bias [1, heads, length, length])
// Every sequence has `length` tokens. The result equals the implementation's
// Run on the split [B, H, length, head_dim] tensors (with `mask`) with the
// output converted to `dtype`. Called only where the implementation
// Supports() those tensors and they have no key_lengths.
class PackedRowsSelfAttention {
 public:
  virtual ~PackedRowsSelfAttention() = default;
  virtual void RunOnPackedRows(const AttentionSpec& spec, DType dtype,
                               const void* qkv,
                               absl::Span<const int64_t> first_rows,
                               int64_t length, int64_t heads, int64_t head_dim,
                               const Tensor& mask, void* out) const = 0;
};

// One way of computing attention. Implementations are tried in order; the
// reference, which handles every case, is last.
class AttentionImplementation {
 public:
  virtual ~AttentionImplementation() = default;
  virtual absl::string_view name() const = 0;
  // Called only with validated inputs.
  virtual bool Supports(const AttentionSpec& spec,
                        const AttentionInputs& in) const = 0;
  // Called only with validated inputs whose query, key and value are already
  // in in.compute_dtype (see RunAttention). Writes out->output as FP32
  // [B, H, Sq, Dv] and, when in.return_weights, out->weights.
  virtual absl::Status Run(const AttentionSpec& spec, const AttentionInputs& in,
                           AttentionOutputs* out) const = 0;
  // The same computation on an encoder's packed rows, or nullptr when this
  // implementation only runs on split heads.
  virtual const PackedRowsSelfAttention* packed_rows() const { return nullptr; }
};

// Runs one implementation the way Attend does: converts query, key and value
// to in.compute_dtype, calls impl.Run and converts the output to
// in.output_dtype. `in` must be validated and impl.Supports(spec, in) true.
// Tests use it to compare every implementation with the reference.
absl::Status RunAttention(const AttentionImplementation& impl,
                          const AttentionSpec& spec, const AttentionInputs& in,
                          AttentionOutputs* out);

// The scale actually applied to q.k: spec.scale, or 1/sqrt(head_dim) when 0.
float EffectiveScale(const AttentionSpec& spec, int64_t head_dim);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_ATTENTION_H_
