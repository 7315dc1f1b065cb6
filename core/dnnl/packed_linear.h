#ifndef ATTNSERVE_CORE_DNNL_PACKED_LINEAR_H_
#define ATTNSERVE_CORE_DNNL_PACKED_LINEAR_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "core/base/dtype.h"
#include "core/base/tensor.h"
#include "dnnl.hpp"

namespace attnserve::core {

// Activation fused into a matmul as a oneDNN eltwise post-op.
// kGeluErf: x * Phi(x); kGeluTanh: its tanh approximation; kSilu:
// x * sigmoid(x).
enum class LinearActivation { kNone, kGeluErf, kGeluTanh, kSilu };

// A learned linear map y = x W + b whose weight is converted and reordered
// once, at load, into the blocked layouts oneDNN's matmul picks for FP32 and
// BF16 sources (format_tag::any), so no call reorders weights.
class PackedLinear {
 public:
  PackedLinear() = default;
  // weight: [out, in] FP32 (torch nn.Linear layout)
  // bias: [out] FP32, or empty() for a layer without bias (bias=False)
  static absl::StatusOr<PackedLinear> Create(const Tensor& weight,
                                             const Tensor& bias);

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

  // src: [rows, in] row-major in `src_dtype` (FP32 -> FP32 weights, BF16 ->
  //   BF16 weights); rows may be any count >= 1.
  // dst: [rows, out] row-major in `dst_dtype`.
  // dst = activation(src W + b). Primitives are cached per shape and dtype.
  absl::Status Apply(
      DType src_dtype, const void* src, int64_t rows, DType dst_dtype,
      void* dst, LinearActivation activation = LinearActivation::kNone) const;

 private:
  int64_t in_ = 0;
  int64_t out_ = 0;
  dnnl::memory weights_fp32_;
  dnnl::memory weights_bf16_;
  // The memory weights_fp32_ and weights_bf16_ live in.
  std::shared_ptr<void> weights_fp32_buffer_;
  std::shared_ptr<void> weights_bf16_buffer_;
  dnnl::memory bias_;
};

// Apply() runs rows in blocks of at most kMaxPrimitiveRows; each block's
// matmul primitive is created for PaddedRows(block rows): the rows themselves
// when at most 16, else rounded up to a multiple of 16. So at most 48
// primitives per weight shape and dtype serve every batch size. Activation
// buffers passed to Apply() must have PaddedRows(rows) rows (padding rows are
// computed and ignored).
constexpr int64_t kMaxPrimitiveRows = 512;
int64_t PaddedRows(int64_t rows);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_DNNL_PACKED_LINEAR_H_
