// The op table: every row kernel against a scalar reference written here from
// the op's definition, in double (ggml's test-backend-ops style). One row per
// op: {name, shape generator, input maker, fast kernel, reference,
// tolerance}. Each op runs over its generated shapes (odd widths around the
// 16-lane vector length, zero rows, random shapes) with the AVX-512 kernels
// (when the CPU has them) and with the portable ones, and each op is also
// run on a deliberately perturbed input, which the comparison must catch (a
// table that cannot fail is checked to fail).
//
// There is no RMSNorm kernel (no architecture uses one yet): add its row
// here with the kernel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/dtype.h"
#include "core/base/tensor.h"
#include "core/dnnl/packed_linear.h"
#include "core/kernels/glu.h"
#include "core/kernels/layer_norm.h"
#include "core/kernels/relative_position.h"
#include "core/kernels/rotary.h"
#include "core/kernels/vector_math.h"
#include "core/layers/pooling.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Written past the end of every output; a kernel must leave it.
constexpr float kGuard = -7.25f;

// rows x width, plus one size an op reads as it likes (head_dim, input
// features, keys past the end of a row, ...).
struct Shape {
  int64_t rows, width, inner;
};

// One op's inputs, made for a shape.
struct OpData {
  Shape shape;
  std::vector<float> x;      // the main input
  int64_t x_row = 0;         // x's row length (the perturbation's stride)
  std::vector<float> y;      // a second input: keys, gate, residual, ...
  std::vector<float> gamma;  // per-column parameters
  std::vector<float> beta;
  std::vector<int32_t> ints;  // positions, sequence offsets
  float scale = 1, shift = 0;
};

// A reference value and the magnitude its error is measured against (the
// sum of the absolute terms for a sum, |value| for an element-wise op).
struct Want {
  double value, magnitude;
};

struct Tolerance {
  double atol, rtol;  // |got - want| <= atol + rtol * magnitude
};

struct Op {
  std::string name;
  // The first shape is the one the perturbation check uses.
  std::function<std::vector<Shape>(std::mt19937_64&)> shapes;
  std::function<OpData(const Shape&, std::mt19937_64&)> make;
  std::function<std::vector<float>(const OpData&)> fast;
  std::function<std::vector<Want>(const OpData&)> reference;
  Tolerance tolerance;
};

std::vector<float> Normal(int64_t n, std::mt19937_64& rng, float sigma = 1) {
  std::normal_distribution<float> normal(0, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

Want Exact(double v) { return {v, std::fabs(v)}; }

// Shapes of row ops: widths around the vector length, zero rows, and random
// ones. `inner` is drawn from [1, max_inner].
std::vector<Shape> RowShapes(std::mt19937_64& rng, int64_t max_inner = 8) {
  std::uniform_int_distribution<int64_t> inner(1, max_inner);
  std::vector<Shape> shapes = {
      {3, 37, max_inner}, {0, 17, 1},  {1, 1, 1},          {2, 15, 2},
      {2, 16, 3},         {1, 17, 4},  {3, 33, 5},         {2, 64, 6},
      {2, 65, 7},         {1, 257, 1}, {2, 768, max_inner}};
  std::uniform_int_distribution<int64_t> rows(0, 6), width(1, 300);
  for (int i = 0; i < 8; ++i)
    shapes.push_back({rows(rng), width(rng), inner(rng)});
  return shapes;
}

// x: [rows, width] normal; the op's own fields are set by `more`.
std::function<OpData(const Shape&, std::mt19937_64&)> Rows(
    float sigma, std::function<void(OpData*, std::mt19937_64&)> more = {}) {
  return [sigma, more](const Shape& s, std::mt19937_64& rng) {
    OpData d;
    d.shape = s;
    d.x = Normal(s.rows * s.width, rng, sigma);
    d.x_row = s.width;
    if (more) more(&d, rng);
    return d;
  };
}

// Masks entries of x to -inf (keys that are not there): about one in five,
// and every entry of every fourth row (a query that sees no key). Row 0
// keeps its column 0.
void MaskSome(OpData* d, std::mt19937_64& rng) {
  std::bernoulli_distribution masked(0.2);
  const int64_t w = d->shape.width;
  for (int64_t r = 0; r < d->shape.rows; ++r) {
    for (int64_t j = 0; j < w; ++j) {
      if ((r % 4 == 3 || masked(rng)) && (r > 0 || j > 0))
        d->x[r * w + j] = -kInf;
    }
  }
}

// Runs `row_op(row, r)` on a copy of x row by row; returns the rows and the
// guard.
std::vector<float> EachRow(const OpData& d,
                           const std::function<void(float*, int64_t)>& row_op) {
  std::vector<float> out = d.x;
  out.push_back(kGuard);
  for (int64_t r = 0; r < d.shape.rows; ++r)
    row_op(out.data() + r * d.shape.width, r);
  return out;
}

double GeluErf(double x) {
  return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
}
double GeluTanh(double x) {
  return 0.5 * x *
         (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}
double Silu(double x) { return x / (1 + std::exp(-x)); }
double Activate(GluActivation a, double x) {
  return a == GluActivation::kGeluErf    ? GeluErf(x)
         : a == GluActivation::kGeluTanh ? GeluTanh(x)
                                         : Silu(x);
}
const char* ActivationName(GluActivation a) {
  return a == GluActivation::kGeluErf    ? "gelu"
         : a == GluActivation::kGeluTanh ? "gelu_tanh"
                                         : "silu";
}

// --- vector math ------------------------------------------------------------

void AddVectorMathOps(std::vector<Op>* ops) {
  // shape: rows = head_dim, width = keys, inner = extra columns of keys_t.
  ops->push_back({"scaled_dot_columns",
                  [](std::mt19937_64& rng) {
                    std::vector<Shape> s = RowShapes(rng, 9);
                    for (Shape& x : s)
                      x.rows = std::max<int64_t>(1, x.rows * 13 % 97);
                    return s;
                  },
                  [](const Shape& s, std::mt19937_64& rng) {
                    OpData d;
                    d.shape = s;
                    d.x = Normal(s.rows, rng);
                    d.x_row = s.rows;
                    d.y = Normal(s.rows * (s.width + s.inner), rng);
                    d.scale = 0.3f;
                    return d;
                  },
                  [](const OpData& d) {
                    std::vector<float> out(d.shape.width + 1, kGuard);
                    ScaledDotColumns(d.x.data(), d.shape.rows, d.y.data(),
                                     d.shape.width + d.shape.inner,
                                     d.shape.width, d.scale, out.data());
                    return out;
                  },
                  [](const OpData& d) {
                    const int64_t ld = d.shape.width + d.shape.inner;
                    std::vector<Want> want;
                    for (int64_t c = 0; c < d.shape.width; ++c) {
                      double dot = 0, magnitude = 0;
                      for (int64_t k = 0; k < d.shape.rows; ++k) {
                        dot += double(d.x[k]) * d.y[k * ld + c];
                        magnitude +=
                            std::fabs(double(d.x[k]) * d.y[k * ld + c]);
                      }
                      want.push_back({d.scale * dot, d.scale * magnitude});
                    }
                    want.push_back(Exact(kGuard));
                    return want;
                  },
                  {0, 1e-6}});
  // shape: rows = weights (keys, may be 0), width = value dim.
  ops->push_back({"accumulate_weighted_rows",
                  [](std::mt19937_64& rng) { return RowShapes(rng); },
                  [](const Shape& s, std::mt19937_64& rng) {
                    OpData d;
                    d.shape = s;
                    d.x = Normal(s.rows, rng);
                    d.x_row = std::max<int64_t>(1, s.rows);
                    d.y = Normal(s.rows * s.width, rng);
                    d.gamma = Normal(s.width, rng);  // the accumulator's start
                    return d;
                  },
                  [](const OpData& d) {
                    std::vector<float> out = d.gamma;
                    out.push_back(kGuard);
                    AccumulateWeightedRows(d.x.data(), d.shape.rows, d.y.data(),
                                           d.shape.width, out.data());
                    return out;
                  },
                  [](const OpData& d) {
                    std::vector<Want> want;
                    for (int64_t j = 0; j < d.shape.width; ++j) {
                      double sum = d.gamma[j],
                             magnitude = std::fabs(d.gamma[j]);
                      for (int64_t c = 0; c < d.shape.rows; ++c) {
                        sum += double(d.x[c]) * d.y[c * d.shape.width + j];
                        magnitude += std::fabs(double(d.x[c]) *
                                               d.y[c * d.shape.width + j]);
                      }
                      want.push_back({sum, magnitude});
                    }
                    want.push_back(Exact(kGuard));
                    return want;
                  },
                  {0, 1e-6}});
  // x * scale + bias, with a bias per column, one bias for the row, none.
  for (int variant = 0; variant < 3; ++variant) {
    const char* names[] = {"scale_add_bias_columns", "scale_add_bias_scalar",
                           "scale_row"};
    ops->push_back(
        {names[variant],
         [](std::mt19937_64& rng) { return RowShapes(rng); },
         Rows(2,
              [](OpData* d, std::mt19937_64& rng) {
                d->gamma = Normal(d->shape.width, rng);
                d->scale = 0.7f;
              }),
         [variant](const OpData& d) {
           return EachRow(d, [&](float* row, int64_t) {
             if (variant == 0) {
               ScaleAndAddBias(row, d.shape.width, d.scale, d.gamma.data(), 1);
             } else if (variant == 1) {
               ScaleAndAddBias(row, d.shape.width, d.scale, d.gamma.data(), 0);
             } else {
               ScaleRow(row, d.shape.width, d.scale);
             }
           });
         },
         [variant](const OpData& d) {
           std::vector<Want> want;
           for (int64_t i = 0; i < d.shape.rows * d.shape.width; ++i) {
             const double bias = variant == 0   ? d.gamma[i % d.shape.width]
                                 : variant == 1 ? d.gamma[0]
                                                : 0.0;
             const double v = double(d.x[i]) * d.scale;
             want.push_back({v + bias, std::fabs(v) + std::fabs(bias)});
           }
           want.push_back(Exact(kGuard));
           return want;
         },
         // Two roundings: the product and the sum.
         {0, 2.5e-7}});
  }
  // Scale, add the bias and take the row's max; and the max alone. Masked
  // entries stay -inf; a fully masked row's max is -inf.
  for (bool with_bias : {true, false}) {
    ops->push_back(
        {with_bias ? "scale_add_bias_max" : "row_max",
         [](std::mt19937_64& rng) { return RowShapes(rng); },
         Rows(3,
              [](OpData* d, std::mt19937_64& rng) {
                MaskSome(d, rng);
                d->gamma = Normal(d->shape.width, rng);
                d->scale = 0.5f;
              }),
         [with_bias](const OpData& d) {
           std::vector<float> maxima;
           std::vector<float> out = EachRow(d, [&](float* row, int64_t) {
             maxima.push_back(with_bias ? ScaleAndAddBiasMax(row, d.shape.width,
                                                             d.scale,
                                                             d.gamma.data(), 1)
                                        : RowMax(row, d.shape.width));
           });
           out.insert(out.end(), maxima.begin(), maxima.end());
           return out;
         },
         [with_bias](const OpData& d) {
           std::vector<Want> want, maxima;
           const int64_t w = d.shape.width;
           for (int64_t r = 0; r < d.shape.rows; ++r) {
             double max = -kInf;
             for (int64_t j = 0; j < w; ++j) {
               const double x = d.x[r * w + j];
               const double v = with_bias ? x * d.scale + d.gamma[j] : x;
               want.push_back({v, std::fabs(v)});
               max = std::max(max, v);
             }
             maxima.push_back({max, std::fabs(max)});
           }
           want.push_back(Exact(kGuard));
           want.insert(want.end(), maxima.begin(), maxima.end());
           return want;
         },
         {0, 2.5e-7}});
  }
  // exp(x * scale - shift) and its sum, shift = the row's scaled max (as
  // the attention kernels call it); FP32 in place and BF16 out of place.
  for (bool bf16 : {false, true}) {
    ops->push_back(
        {bf16 ? "exp_and_sum_to_bf16" : "exp_and_sum",
         [](std::mt19937_64& rng) { return RowShapes(rng); },
         Rows(3,
              [](OpData* d, std::mt19937_64& rng) {
                MaskSome(d, rng);
                d->scale = 0.8f;
              }),
         [bf16](const OpData& d) {
           std::vector<float> sums;
           std::vector<float> out = EachRow(d, [&](float* row, int64_t) {
             const float shift = RowMax(row, d.shape.width) * d.scale;
             const float s = std::isfinite(shift) ? shift : 0.0f;
             if (!bf16) {
               sums.push_back(ExpAndSum(row, d.shape.width, d.scale, s));
               return;
             }
             std::vector<BF16> e(d.shape.width);
             sums.push_back(
                 ExpAndSumToBF16(row, d.shape.width, d.scale, s, e.data()));
             for (int64_t j = 0; j < d.shape.width; ++j)
               row[j] = BF16ToFloat(e[j]);
           });
           out.insert(out.end(), sums.begin(), sums.end());
           return out;
         },
         [bf16](const OpData& d) {
           std::vector<Want> want, sums;
           const int64_t w = d.shape.width;
           for (int64_t r = 0; r < d.shape.rows; ++r) {
             double max = -kInf;
             for (int64_t j = 0; j < w; ++j)
               max = std::max(max, double(d.x[r * w + j]));
             const double shift = std::isfinite(max) ? max * d.scale : 0.0;
             double sum = 0, sum_magnitude = 0;
             for (int64_t j = 0; j < w; ++j) {
               const double scaled = double(d.x[r * w + j]) * d.scale;
               const double e = std::exp(scaled - shift);
               // The float argument carries the roundings of x * scale and
               // of the shift: a relative error of exp of about
               // 2^-24 (|x * scale| + |shift|), on top of exp's own few ulp.
               // (A masked entry, -inf, gives exactly 0.)
               const double argument =
                   e == 0 ? 0.0 : std::fabs(scaled) + std::fabs(shift);
               const double magnitude =
                   bf16 ? e * (1 + 0x1p8 * 2.5e-7 * argument)
                        : e * (1 + argument);
               want.push_back({e, magnitude});
               sum += e;
               sum_magnitude += e * (1 + argument);
             }
             sums.push_back({sum, sum_magnitude});
           }
           want.push_back(Exact(kGuard));
           want.insert(want.end(), sums.begin(), sums.end());
           return want;
         },
         // BF16: half an ulp (8 significant bits) of the exponentials, and
         // the argument's rounding; FP32: the argument's rounding.
         bf16 ? Tolerance{0, 0x1p-8} : Tolerance{1e-30, 2.5e-7}});
  }
  // Softmax over each row; masked entries get 0, a fully masked row all 0
  // (and false).
  ops->push_back(
      {"softmax",
       [](std::mt19937_64& rng) { return RowShapes(rng); },
       Rows(3, MaskSome),
       [](const OpData& d) {
         std::vector<float> any;
         std::vector<float> out = EachRow(d, [&](float* row, int64_t) {
           any.push_back(SoftmaxInPlace(row, d.shape.width) ? 1.0f : 0.0f);
         });
         out.insert(out.end(), any.begin(), any.end());
         return out;
       },
       [](const OpData& d) {
         std::vector<Want> want, any;
         const int64_t w = d.shape.width;
         for (int64_t r = 0; r < d.shape.rows; ++r) {
           const float* x = d.x.data() + r * w;
           double max = -kInf, sum = 0;
           for (int64_t j = 0; j < w; ++j) max = std::max(max, double(x[j]));
           for (int64_t j = 0; j < w; ++j) {
             if (x[j] != -kInf) sum += std::exp(x[j] - max);
           }
           for (int64_t j = 0; j < w; ++j) {
             want.push_back(
                 Exact(x[j] == -kInf ? 0.0 : std::exp(x[j] - max) / sum));
           }
           any.push_back(Exact(max == -kInf ? 0 : 1));
         }
         want.push_back(Exact(kGuard));
         want.insert(want.end(), any.begin(), any.end());
         return want;
       },
       {1e-7, 1e-5}});
  // Round to nearest even BF16, the specials included.
  ops->push_back(
      {"convert_to_bf16",
       [](std::mt19937_64& rng) { return RowShapes(rng); },
       Rows(100,
            [](OpData* d, std::mt19937_64&) {
              // x[0] stays random (the perturbation moves it).
              const float specials[] = {kInf, -kInf, 0.0f, -0.0f, 3e38f};
              for (size_t i = 1; i < d->x.size() && i <= 5; ++i) {
                d->x[i] = specials[i - 1];
              }
            }),
       [](const OpData& d) {
         std::vector<BF16> b(d.x.size() + 1, BF16{0x1234});
         ConvertToBF16(d.x.data(), b.data(), int64_t(d.x.size()));
         std::vector<float> out;
         for (size_t i = 0; i < d.x.size(); ++i)
           out.push_back(BF16ToFloat(b[i]));
         out.push_back(b.back().bits == 0x1234 ? kGuard : 0.0f);
         return out;
       },
       [](const OpData& d) {
         // Nearest even in double: of the two BF16 neighbours of x, the
         // nearer, ties to the one whose last mantissa bit is 0.
         std::vector<Want> want;
         for (float x : d.x) {
           if (!std::isfinite(x) || x == 0) {
             want.push_back(Exact(x));
             continue;
           }
           int exponent;
           std::frexp(x, &exponent);
           const double ulp = std::ldexp(1.0, std::max(exponent - 8, -133));
           const double low = std::floor(double(x) / ulp) * ulp;
           const double high = low + ulp;
           const double distance_low = double(x) - low,
                        distance_high = high - x;
           const bool low_even = std::fmod(std::fabs(low / ulp), 2.0) == 0;
           want.push_back(Exact(distance_low < distance_high   ? low
                                : distance_high < distance_low ? high
                                : low_even                     ? low
                                                               : high));
         }
         want.push_back(Exact(kGuard));
         return want;
       },
       {0, 0}});
}

// --- layer norm -----------------------------------------------------------

void AddLayerNormOps(std::vector<Op>* ops) {
  struct Variant {
    const char* name;
    bool residual, beta, in_place, bf16_copy;
  };
  for (const Variant& v :
       {Variant{"add_layer_norm", true, true, false, false},
        Variant{"layer_norm", false, true, false, false},
        Variant{"add_layer_norm_no_beta", true, false, false, false},
        Variant{"layer_norm_no_beta", false, false, false, false},
        Variant{"add_layer_norm_in_place", true, true, true, false},
        Variant{"add_layer_norm_bf16_copy", true, true, false, true}}) {
    ops->push_back(
        {v.name, [](std::mt19937_64& rng) { return RowShapes(rng); },
         Rows(2,
              [](OpData* d, std::mt19937_64& rng) {
                for (float& x : d->x) x += 0.5f;
                d->y = Normal(d->shape.rows * d->shape.width, rng, 2);
                d->gamma = Normal(d->shape.width, rng, 2);
                d->beta = Normal(d->shape.width, rng, 2);
                d->scale = 1e-5f;  // eps
              }),
         [v](const OpData& d) {
           const int64_t n = d.shape.rows * d.shape.width;
           std::vector<float> out(n + 1, kGuard);
           std::vector<BF16> copy(n);
           float* dst = out.data();
           if (v.in_place) {
             std::copy(d.x.begin(), d.x.end(), out.begin());
           }
           AddLayerNorm(v.in_place ? dst : d.x.data(),
                        v.residual ? d.y.data() : nullptr, d.gamma.data(),
                        v.beta ? d.beta.data() : nullptr, d.scale, d.shape.rows,
                        d.shape.width, dst,
                        v.bf16_copy ? copy.data() : nullptr);
           if (v.bf16_copy) {
             for (int64_t i = 0; i < n; ++i) out[i] = BF16ToFloat(copy[i]);
           }
           return out;
         },
         [v](const OpData& d) {
           std::vector<Want> want;
           const int64_t w = d.shape.width;
           for (int64_t r = 0; r < d.shape.rows; ++r) {
             std::vector<double> s(w);
             double mean = 0, variance = 0;
             for (int64_t j = 0; j < w; ++j) {
               s[j] =
                   double(d.x[r * w + j]) + (v.residual ? d.y[r * w + j] : 0.0);
               mean += s[j] / w;
             }
             for (int64_t j = 0; j < w; ++j)
               variance += (s[j] - mean) * (s[j] - mean) / w;
             for (int64_t j = 0; j < w; ++j) {
               const double normed =
                   (s[j] - mean) / std::sqrt(variance + d.scale) * d.gamma[j];
               const double beta = v.beta ? d.beta[j] : 0.0;
               want.push_back(
                   {normed + beta, std::fabs(normed) + std::fabs(beta)});
             }
           }
           want.push_back(Exact(kGuard));
           return want;
         },
         v.bf16_copy ? Tolerance{0, 0x1p-8} : Tolerance{1e-6, 2e-6}});
  }
}

// --- activations and gated linear units -------------------------------------

void AddActivationOps(std::vector<Op>* ops) {
  const GluActivation activations[] = {
      GluActivation::kGeluErf, GluActivation::kGeluTanh, GluActivation::kSilu};
  // The activation alone: GatedActivation with a gate of ones. Inputs
  // cover the tails (|x| up to ~20).
  for (GluActivation a : activations) {
    ops->push_back(
        {ActivationName(a),
         [](std::mt19937_64& rng) { return RowShapes(rng); },
         Rows(5),
         [a](const OpData& d) {
           const int64_t w = d.shape.width;
           std::vector<float> in(d.shape.rows * 2 * w, 1.0f);
           for (int64_t r = 0; r < d.shape.rows; ++r) {
             std::copy_n(d.x.data() + r * w, w, in.data() + r * 2 * w);
           }
           std::vector<float> out(d.shape.rows * w + 1, kGuard);
           GatedActivation(in.data(), 2 * w, d.shape.rows, w, a,
                           GluActivatedHalf::kFirst, out.data(), w);
           return out;
         },
         [a](const OpData& d) {
           std::vector<Want> want;
           // The vector erf's absolute error (1.5e-7) scales with |x|.
           for (float x : d.x)
             want.push_back(
                 {Activate(a, x), std::fabs(Activate(a, x)) + std::fabs(x)});
           want.push_back(Exact(kGuard));
           return want;
         },
         {1e-7, 1e-6}});
  }
  // GLU over a fused up projection: in [rows, 2 * width + inner], out
  // [rows, width + inner] whose last inner columns are not written; FP32
  // and BF16 results, either half activated.
  for (GluActivation a : activations) {
    for (GluActivatedHalf half :
         {GluActivatedHalf::kFirst, GluActivatedHalf::kSecond}) {
      for (bool bf16 : {false, true}) {
        if (bf16 && a == GluActivation::kGeluTanh) continue;
        const std::string name = absl::StrCat(
            "glu_", ActivationName(a),
            half == GluActivatedHalf::kFirst ? "_first" : "_second",
            bf16 ? "_bf16" : "");
        ops->push_back(
            {name, [](std::mt19937_64& rng) { return RowShapes(rng, 5); },
             [](const Shape& s, std::mt19937_64& rng) {
               OpData d;
               d.shape = s;
               d.x_row = 2 * s.width + s.inner;
               d.x = Normal(s.rows * d.x_row, rng, 2.5f);
               return d;
             },
             [a, half, bf16](const OpData& d) {
               const int64_t w = d.shape.width, ld_out = w + d.shape.inner;
               std::vector<float> out(d.shape.rows * ld_out + 1, kGuard);
               if (!bf16) {
                 GatedActivation(d.x.data(), d.x_row, d.shape.rows, w, a, half,
                                 out.data(), ld_out);
                 return out;
               }
               std::vector<BF16> b(d.shape.rows * ld_out, FloatToBF16(kGuard));
               GatedActivation(d.x.data(), d.x_row, d.shape.rows, w, a, half,
                               b.data(), ld_out);
               for (size_t i = 0; i < b.size(); ++i) out[i] = BF16ToFloat(b[i]);
               return out;
             },
             [a, half](const OpData& d) {
               const int64_t w = d.shape.width, ld_out = w + d.shape.inner;
               const int64_t act = half == GluActivatedHalf::kFirst ? 0 : w;
               std::vector<Want> want;
               for (int64_t r = 0; r < d.shape.rows; ++r) {
                 for (int64_t j = 0; j < ld_out; ++j) {
                   if (j >= w) {
                     want.push_back(Exact(kGuard));
                     continue;
                   }
                   const double x = d.x[r * d.x_row + act + j];
                   const double g = d.x[r * d.x_row + w - act + j];
                   const double v = Activate(a, x) * g;
                   want.push_back({v, std::fabs(v) + std::fabs(x * g)});
                 }
               }
               want.push_back(Exact(kGuard));
               return want;
             },
             bf16 ? Tolerance{1e-7, 0x1p-8} : Tolerance{1e-7, 1e-6}});
      }
    }
  }
  // The activations oneDNN fuses into the feed-forward's up projection
  // (BERT, MPNet, NomicBERT without GLU): y = act(x W^T + b), FP32.
  const std::pair<LinearActivation, GluActivation> fused[] = {
      {LinearActivation::kGeluErf, GluActivation::kGeluErf},
      {LinearActivation::kGeluTanh, GluActivation::kGeluTanh},
      {LinearActivation::kSilu, GluActivation::kSilu}};
  for (const auto& f : fused) {
    const LinearActivation linear = f.first;
    const GluActivation act = f.second;
    ops->push_back(
        {absl::StrCat("linear_", ActivationName(act)),
         [](std::mt19937_64& rng) {
           std::vector<Shape> s = RowShapes(rng, 96);
           // oneDNN takes rows >= 1.
           for (Shape& x : s) x.rows = std::max<int64_t>(1, x.rows);
           return s;
         },
         [](const Shape& s, std::mt19937_64& rng) {
           OpData d;
           d.shape = s;
           d.x = Normal(PaddedRows(s.rows) * s.inner, rng);
           d.x_row = s.inner;
           d.y = Normal(s.width * s.inner, rng, 1 / std::sqrt(float(s.inner)));
           d.beta = Normal(s.width, rng);
           return d;
         },
         [linear](const OpData& d) {
           Tensor weight(DType::kFP32, {d.shape.width, d.shape.inner});
           Tensor bias(DType::kFP32, {d.shape.width});
           std::copy(d.y.begin(), d.y.end(), weight.data<float>());
           std::copy(d.beta.begin(), d.beta.end(), bias.data<float>());
           auto packed = PackedLinear::Create(weight, bias);
           EXPECT_TRUE(packed.ok()) << packed.status();
           std::vector<float> out(PaddedRows(d.shape.rows) * d.shape.width,
                                  kGuard);
           EXPECT_TRUE(packed
                           ->Apply(DType::kFP32, d.x.data(), d.shape.rows,
                                   DType::kFP32, out.data(), linear)
                           .ok());
           out.resize(d.shape.rows * d.shape.width);
           return out;
         },
         [act](const OpData& d) {
           std::vector<Want> want;
           for (int64_t r = 0; r < d.shape.rows; ++r) {
             for (int64_t o = 0; o < d.shape.width; ++o) {
               double sum = d.beta[o], magnitude = std::fabs(d.beta[o]);
               for (int64_t i = 0; i < d.shape.inner; ++i) {
                 const double t = double(d.x[r * d.shape.inner + i]) *
                                  d.y[o * d.shape.inner + i];
                 sum += t;
                 magnitude += std::fabs(t);
               }
               want.push_back({Activate(act, sum),
                               std::fabs(Activate(act, sum)) + magnitude});
             }
           }
           return want;
         },
         {1e-6, 2e-6}});
  }
}

// --- position kernels --------------------------------------------------------

void AddPositionOps(std::vector<Op>* ops) {
  // Rotary on rows of a fused QKV projection [rows, 3 * heads * head_dim +
  // extra]: the 2 * heads query and key heads rotate, the rest stays.
  // shape: width = heads * 2 (rounded), inner picks head_dim, rotary_dim and
  // base.
  ops->push_back(
      {"rotary",
       [](std::mt19937_64& rng) { return RowShapes(rng, 6); },
       [](const Shape& s, std::mt19937_64& rng) {
         OpData d;
         d.shape = s;
         const int64_t heads = 1 + s.width % 5;
         const int64_t head_dim = 2 * (1 + s.width % 40);
         const int64_t rotary_dim =
             s.inner % 2 == 0 ? head_dim : 2 * ((head_dim / 2 + 1) / 2);
         const double bases[] = {10000.0, 160000.0, 1000.0, 500.0, 10.0, 1e6};
         d.ints = {int32_t(heads), int32_t(head_dim), int32_t(rotary_dim)};
         d.shift = float(bases[s.inner % 6]);
         d.x_row = 3 * heads * head_dim + s.inner;
         d.x = Normal(s.rows * d.x_row, rng);
         std::uniform_int_distribution<int32_t> position(0, 8191);
         for (int64_t r = 0; r < s.rows; ++r)
           d.ints.push_back(r == 0 ? 1 : position(rng));
         return d;
       },
       [](const OpData& d) {
         std::vector<float> out = d.x;
         out.push_back(kGuard);
         auto table = RotaryTable::Create(d.ints[2], d.shift, 8192);
         EXPECT_TRUE(table.ok()) << table.status();
         table->Apply(out.data(), d.shape.rows, d.x_row, 2 * d.ints[0],
                      d.ints[1], d.ints.data() + 3);
         return out;
       },
       [](const OpData& d) {
         const int64_t heads = d.ints[0], head_dim = d.ints[1],
                       rotary_dim = d.ints[2];
         const int64_t half = rotary_dim / 2;
         std::vector<Want> want;
         for (int64_t r = 0; r < d.shape.rows; ++r) {
           const float* x = d.x.data() + r * d.x_row;
           for (int64_t j = 0; j < d.x_row; ++j) {
             const int64_t dim = j % head_dim;
             if (j >= 2 * heads * head_dim || dim >= rotary_dim) {
               want.push_back({x[j], 0});  // not rotated: bit for bit
               continue;
             }
             const int64_t i = dim % half;
             const double angle =
                 d.ints[3 + r] *
                 std::pow(double(d.shift), -2.0 * i / rotary_dim);
             const double a = x[j - dim + i], b = x[j - dim + i + half];
             const double v = dim < half
                                  ? a * std::cos(angle) - b * std::sin(angle)
                                  : b * std::cos(angle) + a * std::sin(angle);
             want.push_back({v, std::fabs(a) + std::fabs(b)});
           }
         }
         want.push_back(Exact(kGuard));
         return want;
       },
       {0, 2e-6}});
  // MPNet's relative position bias: the by-offset table read as the
  // attention kernels read it (query i's slice) against the bucket of each
  // (query, key) pair. shape: rows = heads, width = max_length.
  ops->push_back({"relative_position_bias",
                  [](std::mt19937_64& rng) {
                    std::vector<Shape> s = RowShapes(rng);
                    for (Shape& x : s) {
                      x.rows = std::max<int64_t>(1, x.rows);
                      x.width = std::min<int64_t>(x.width, 300);
                    }
                    return s;
                  },
                  [](const Shape& s, std::mt19937_64& rng) {
                    OpData d;
                    d.shape = s;
                    d.x = Normal(32 * s.rows, rng);  // [buckets, heads]
                    d.x_row = int64_t(d.x.size());
                    return d;
                  },
                  [](const OpData& d) {
                    const int64_t heads = d.shape.rows, n = d.shape.width;
                    const std::vector<float> table =
                        RelativePositionBiasByOffset(d.x.data(), heads, n);
                    std::vector<float> out;
                    for (int64_t h = 0; h < heads; ++h) {
                      for (int64_t i = 0; i < n; ++i) {
                        const float* slice =
                            table.data() + h * (2 * n - 1) + (n - 1 - i);
                        out.insert(out.end(), slice, slice + n);
                      }
                    }
                    return out;
                  },
                  [](const OpData& d) {
                    const int64_t heads = d.shape.rows, n = d.shape.width;
                    std::vector<Want> want;
                    for (int64_t h = 0; h < heads; ++h) {
                      for (int64_t i = 0; i < n; ++i) {
                        for (int64_t j = 0; j < n; ++j) {
                          want.push_back(Exact(
                              d.x[RelativePositionBucket(j - i) * heads + h]));
                        }
                      }
                    }
                    return want;
                  },
                  {0, 0}});
}

// --- pooling ---------------------------------------------------------------

void AddPoolingOps(std::vector<Op>* ops) {
  // x: [tokens, width] split into sequences (some empty): ints = offsets.
  auto make = [](const Shape& s, std::mt19937_64& rng) {
    OpData d;
    d.shape = s;
    d.x = Normal(s.rows * s.width, rng);
    d.x_row = s.width;
    d.ints = {0};
    std::uniform_int_distribution<int64_t> cut(0, s.rows);
    std::vector<int64_t> cuts = {cut(rng), cut(rng), 0};
    cuts[2] = cuts[0];  // an empty sequence
    std::sort(cuts.begin(), cuts.end());
    for (int64_t c : cuts) d.ints.push_back(int32_t(c));
    d.ints.push_back(int32_t(s.rows));
    return d;
  };
  const Pooling poolings[] = {Pooling::kCls, Pooling::kMean, Pooling::kMax,
                              Pooling::kLast};
  for (Pooling pooling : poolings) {
    ops->push_back(
        {absl::StrCat("pool_", absl::AsciiStrToLower(PoolingName(pooling))),
         [](std::mt19937_64& rng) { return RowShapes(rng); },
         make,
         [pooling](const OpData& d) {
           Tensor hidden(DType::kFP32, {d.shape.rows, d.shape.width});
           std::copy(d.x.begin(), d.x.end(), hidden.data<float>());
           const std::vector<int64_t> offsets(d.ints.begin(), d.ints.end());
           const Tensor pooled = Pool(hidden, offsets, pooling);
           return std::vector<float>(
               pooled.data<float>(),
               pooled.data<float>() + pooled.num_elements());
         },
         [pooling](const OpData& d) {
           std::vector<Want> want;
           const int64_t w = d.shape.width;
           for (size_t s = 0; s + 1 < d.ints.size(); ++s) {
             const int64_t begin = d.ints[s], end = d.ints[s + 1];
             for (int64_t j = 0; j < w; ++j) {
               if (begin == end) {
                 want.push_back(Exact(0));  // an empty sequence pools to 0
                 continue;
               }
               double v = pooling == Pooling::kCls    ? d.x[begin * w + j]
                          : pooling == Pooling::kLast ? d.x[(end - 1) * w + j]
                          : pooling == Pooling::kMax  ? -kInf
                                                      : 0.0;
               double magnitude = 0;
               for (int64_t t = begin; pooling == Pooling::kMean && t < end;
                    ++t) {
                 v += double(d.x[t * w + j]) / double(end - begin);
                 magnitude += std::fabs(d.x[t * w + j]) / double(end - begin);
               }
               for (int64_t t = begin; pooling == Pooling::kMax && t < end;
                    ++t) {
                 v = std::max(v, double(d.x[t * w + j]));
               }
               want.push_back({v, std::max(magnitude, std::fabs(v))});
             }
           }
           return want;
         },
         {0, 1e-6}});
  }
  ops->push_back(
      {"l2_normalize",
       [](std::mt19937_64& rng) { return RowShapes(rng); },
       Rows(3,
            [](OpData* d, std::mt19937_64&) {
              // A zero row stays zero.
              if (d->shape.rows > 1)
                std::fill_n(d->x.begin() + d->shape.width, d->shape.width,
                            0.0f);
            }),
       [](const OpData& d) {
         Tensor rows(DType::kFP32, {d.shape.rows, d.shape.width});
         std::copy(d.x.begin(), d.x.end(), rows.data<float>());
         L2NormalizeRows(&rows);
         return std::vector<float>(rows.data<float>(),
                                   rows.data<float>() + rows.num_elements());
       },
       [](const OpData& d) {
         std::vector<Want> want;
         const int64_t w = d.shape.width;
         for (int64_t r = 0; r < d.shape.rows; ++r) {
           double squares = 0;
           for (int64_t j = 0; j < w; ++j)
             squares += double(d.x[r * w + j]) * d.x[r * w + j];
           for (int64_t j = 0; j < w; ++j) {
             want.push_back(Exact(
                 squares == 0 ? 0.0 : d.x[r * w + j] / std::sqrt(squares)));
           }
         }
         return want;
       },
       {1e-7, 1e-6}});
}

const std::vector<Op>& Ops() {
  static const std::vector<Op>* ops = [] {
    auto* table = new std::vector<Op>;
    AddVectorMathOps(table);
    AddLayerNormOps(table);
    AddActivationOps(table);
    AddPositionOps(table);
    AddPoolingOps(table);
    return table;
  }();
  return *ops;
}

// The elements of `got` outside the tolerance of `want` (non-finite values
// must be equal), as "index: got vs want" lines; the count first.
struct Mismatches {
  int64_t count = 0;
  std::string first;
};

Mismatches Compare(const std::vector<float>& got, const std::vector<Want>& want,
                   const Tolerance& tolerance) {
  Mismatches m;
  if (got.size() != want.size()) {
    m.count = 1;
    m.first = absl::StrCat(got.size(), " outputs, expected ", want.size());
    return m;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i].value;
    const bool ok =
        std::isfinite(w) || std::isfinite(g)
            ? std::fabs(g - w) <=
                  tolerance.atol + tolerance.rtol * want[i].magnitude
            : g == w || (std::isnan(g) && std::isnan(w));
    if (ok) continue;
    if (m.count++ < 5) {
      absl::StrAppend(&m.first, "\n  [", i, "] ", g, " vs ", w, " (magnitude ",
                      want[i].magnitude, ")");
    }
  }
  return m;
}

std::string ShapeName(const Shape& s) {
  return absl::StrCat("rows ", s.rows, " width ", s.width, " inner ", s.inner);
}

// (op index, portable kernels)
class OpTableTest : public ::testing::TestWithParam<std::tuple<size_t, bool>> {
 protected:
  void SetUp() override {
    ForcePortableVectorMathForTesting(std::get<1>(GetParam()));
  }
  void TearDown() override { ForcePortableVectorMathForTesting(false); }
  const Op& op() const { return Ops()[std::get<0>(GetParam())]; }
};

TEST_P(OpTableTest, FastMatchesReference) {
  std::mt19937_64 rng(std::hash<std::string>()(op().name));
  for (const Shape& shape : op().shapes(rng)) {
    const OpData data = op().make(shape, rng);
    const Mismatches m =
        Compare(op().fast(data), op().reference(data), op().tolerance);
    EXPECT_EQ(m.count, 0) << op().name << ", " << ShapeName(shape) << m.first;
  }
}

// The comparison catches a kernel that reads a wrong input: the first
// element of each row of x moved by 100.
TEST_P(OpTableTest, PerturbedInputIsCaught) {
  std::mt19937_64 rng(std::hash<std::string>()(op().name));
  const Shape shape = op().shapes(rng)[0];
  const OpData data = op().make(shape, rng);
  OpData perturbed = data;
  for (size_t i = 0; i < perturbed.x.size(); i += perturbed.x_row) {
    perturbed.x[i] += 100;
  }
  const Mismatches m =
      Compare(op().fast(perturbed), op().reference(data), op().tolerance);
  EXPECT_GT(m.count, 0) << op().name << ", " << ShapeName(shape);
}

INSTANTIATE_TEST_SUITE_P(
    Table, OpTableTest,
    ::testing::Combine(::testing::Range<size_t>(0, Ops().size()),
                       ::testing::Bool()),
    [](const ::testing::TestParamInfo<std::tuple<size_t, bool>>& info) {
      return absl::StrCat(
          Ops()[std::get<0>(info.param)].name,
          std::get<1>(info.param) ? "_portable" : "_dispatched");
    });

}  // namespace
}  // namespace attnserve::core
