#include "core/kernels/glu.h"

#include <cmath>

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

template <float (*Act)(float)>
void Rows(const float* in, int64_t ld_in, int64_t rows, int64_t width,
          GluActivatedHalf activated, float* out, int64_t ld_out) {
  const int64_t act_offset = activated == GluActivatedHalf::kFirst ? 0 : width;
  const int64_t gate_offset = width - act_offset;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = in + r * ld_in + act_offset;
    const float* g = in + r * ld_in + gate_offset;
    float* o = out + r * ld_out;
    for (int64_t j = 0; j < width; ++j) o[j] = Act(a[j]) * g[j];
  }
}

}  // namespace

void GatedActivation(const float* in, int64_t ld_in, int64_t rows,
                     int64_t width, GluActivation activation,
                     GluActivatedHalf activated, float* out, int64_t ld_out) {
  switch (activation) {
    case GluActivation::kGeluErf:
      return Rows<GeluErf>(in, ld_in, rows, width, activated, out, ld_out);
    case GluActivation::kGeluTanh:
      return Rows<GeluTanh>(in, ld_in, rows, width, activated, out, ld_out);
    case GluActivation::kSilu:
      return Rows<Silu>(in, ld_in, rows, width, activated, out, ld_out);
  }
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
