#ifndef ATTNSERVE_CORE_KERNELS_GLU_H_
#define ATTNSERVE_CORE_KERNELS_GLU_H_

#include <cstdint>

#include "core/base/dtype.h"

namespace attnserve::core {

// The activation of a gated linear unit.
enum class GluActivation {
  kGeluErf,   // GeGLU, "gelu": x * Phi(x)
  kGeluTanh,  // GeGLU, "gelu_new" / "gelu_pytorch_tanh"
  kSilu,      // SwiGLU: x * sigmoid(x)
};

// Which half of the up projection's output the activation applies to. The
// Hugging Face implementations differ:
//   ModernBertMLP:      input, gate = Wi(x).chunk(2); act(input) * gate
//                       -> kFirst
//   NomicBertGatedMLP:  y = fc11(x); gate = fc12(x); y * act(gate), i.e. with
//                       fc11 and fc12 stacked into one [2 * inner, hidden]
//                       projection -> kSecond
enum class GluActivatedHalf { kFirst, kSecond };

// Gated activation over rows of a fused up projection:
//   in:  [rows, ld_in] FP32; columns [0, width) are the first half and
//        [width, 2 * width) the second
//   out: [rows, ld_out] FP32; columns [0, width) get
//        act(activated half) * (other half)
// out may alias in (ld_out == ld_in, FP32 out): each row's output columns are
// written only after they are read.
void GatedActivation(const float* in, int64_t ld_in, int64_t rows,
                     int64_t width, GluActivation activation,
                     GluActivatedHalf activated, float* out, int64_t ld_out);

// The same with a BF16 result (the BF16 compute path: the up projection is
// kept in FP32 and rounded once, after the product), round to nearest even.
void GatedActivation(const float* in, int64_t ld_in, int64_t rows,
                     int64_t width, GluActivation activation,
                     GluActivatedHalf activated, BF16* out, int64_t ld_out);

// Scalar reference for tests: the same in double, from the definitions
// (erf, tanh, exp of the standard library).
void GatedActivationReference(const float* in, int64_t ld_in, int64_t rows,
                              int64_t width, GluActivation activation,
                              GluActivatedHalf activated, float* out,
                              int64_t ld_out);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_KERNELS_GLU_H_
