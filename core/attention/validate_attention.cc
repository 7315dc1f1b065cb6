#include "core/attention/validate_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/shape_string.h"
#include "core/base/status_macros.h"

namespace attnserve::core {
namespace {

constexpr uint32_t kMaxWindow = std::numeric_limits<int32_t>::max();

// `name` must be a present rank-4 tensor without zero-sized dimensions.
//   `layout` documents the expected axes, e.g. "[batch, heads, q_len,
//   head_dim]".
absl::Status CheckRank4(const Tensor& t, absl::string_view name,
                        absl::string_view layout) {
  if (t.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is missing, expected a rank-4 tensor ", layout));
  }
  if (t.rank() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ".shape is ", ShapeString(t.shape()), " (rank ",
                     t.rank(), "), expected rank 4 ", layout));
  }
  for (int i = 0; i < 4; ++i) {
    if (t.dim(i) <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ".shape[", i, "] is ", t.dim(i),
                       ", expected >= 1 (empty tensors are not allowed)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDimsEqual(const Tensor& a, absl::string_view a_name,
                            const Tensor& b, absl::string_view b_name, int dim,
                            absl::string_view what) {
  if (a.dim(dim) == b.dim(dim)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      a_name, ".shape[", dim, "] is ", a.dim(dim), " but ", b_name, ".shape[",
      dim, "] is ", b.dim(dim), "; expected the same ", what));
}

// The first of n IEEE values (float as uint32_t bits, bfloat16 as uint16_t)
// that is NaN or +-Inf (-Inf too unless `allow_minus_inf`), or n. Scans in
// chunks with a branch-free inner loop that the compiler vectorises.
template <class Bits>
int64_t FirstNonFinite(const Bits* values, int64_t n, bool allow_minus_inf) {
  constexpr int kShift = sizeof(Bits) == 4 ? 0 : 16;
  constexpr Bits kExponent = Bits(0x7f800000u >> kShift);
  constexpr Bits kMinusInf = Bits(0xff800000u >> kShift);
  const Bits allowed = allow_minus_inf ? kMinusInf : Bits{0};
  constexpr int64_t kChunk = 4096;
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk);
    Bits bad = 0;
    for (int64_t i = begin; i < end; ++i) {
      bad |= ((values[i] & kExponent) == kExponent) & (values[i] != allowed);
    }
    if (bad == 0) continue;
    for (int64_t i = begin; i < end; ++i) {
      if ((values[i] & kExponent) == kExponent && values[i] != allowed)
        return i;
    }
  }
  return n;
}

// Rejects NaN everywhere, +Inf everywhere, and -Inf unless `allow_minus_inf`.
absl::Status CheckValues(const Tensor& t, absl::string_view name,
                         bool allow_minus_inf) {
  const int64_t n = t.num_elements();
  const int64_t i =
      t.dtype() == DType::kFP32
          ? FirstNonFinite(static_cast<const uint32_t*>(t.raw_data()), n,
                           allow_minus_inf)
          : FirstNonFinite(static_cast<const uint16_t*>(t.raw_data()), n,
                           allow_minus_inf);
  if (i == n) return absl::OkStatus();
  const float x = t.GetFloat(i);
  const char* what = std::isnan(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf";
  return absl::InvalidArgumentError(absl::StrCat(
      name, " contains ", what, " at index ", i, ", expected finite values",
      allow_minus_inf ? " or -Inf" : ""));
}

absl::Status CheckMaskShape(const Tensor& mask,
                            absl::Span<const int64_t> full) {
  if (mask.dtype() != DType::kFP32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask.dtype is ", DTypeName(mask.dtype()), ", expected FP32"));
  }
  if (mask.rank() > 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask.shape is ", ShapeString(mask.shape()), " (rank ", mask.rank(),
        "), expected rank <= 4 broadcastable to ", ShapeString(full)));
  }
  const int pad = 4 - mask.rank();
  for (int i = 0; i < mask.rank(); ++i) {
    const int64_t want = full[pad + i];
    if (mask.dim(i) != 1 && mask.dim(i) != want) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mask.shape[", i, "] is ", mask.dim(i), ", expected 1 or ", want,
          " (mask.shape ", ShapeString(mask.shape()),
          " must broadcast to [batch, heads, "
          "q_len, k_len] = ",
          ShapeString(full), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAttentionSpec(const AttentionSpec& spec, int64_t k_len) {
  using Scope = AttentionSpec::Scope;
  if (spec.weighting == AttentionSpec::Weighting::kHard) {
    if (spec.top_k < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "spec.top_k is ", spec.top_k, ", expected >= 1 for HARD weighting"));
    }
    if (spec.sample && spec.top_k > k_len) {
      return absl::InvalidArgumentError(absl::StrCat(
          "spec.top_k is ", spec.top_k, " but there are only ", k_len,
          " keys (key.shape[2]); expected top_k <= k_len when sampling"));
    }
  }
  if (spec.window_left > kMaxWindow) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.window_left is ", spec.window_left,
                     ", expected <= ", kMaxWindow));
  }
  if (spec.window_right > kMaxWindow) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.window_right is ", spec.window_right,
                     ", expected <= ", kMaxWindow));
  }
  if (spec.scope == Scope::kGlobal) {
    const char* field = nullptr;
    if (spec.window_left != 0) {
      field = "spec.window_left";
    } else if (spec.window_right != 0) {
      field = "spec.window_right";
    } else if (!spec.global_positions.empty()) {
      field = "spec.global_positions";
    } else if (spec.gaussian_sigma != 0) {
      field = "spec.gaussian_sigma";
    }
    if (field != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(field,
                       " is set but spec.scope is GLOBAL; it only applies to "
                       "LOCAL attention, "
                       "set spec.scope to LOCAL"));
    }
  }
  for (size_t i = 0; i < spec.global_positions.size(); ++i) {
    if (spec.global_positions[i] >= k_len) {
      return absl::InvalidArgumentError(absl::StrCat(
          "spec.global_positions[", i, "] is ", spec.global_positions[i],
          ", expected < ", k_len, " (key.shape[2])"));
    }
  }
  if (!std::isfinite(spec.gaussian_sigma) || spec.gaussian_sigma < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.gaussian_sigma is ", spec.gaussian_sigma,
                     ", expected a finite number >= 0"));
  }
  if (!std::isfinite(spec.scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.scale is ", spec.scale,
                     ", expected a finite number (0 = 1/sqrt(head_dim))"));
  }
  return absl::OkStatus();
}

namespace {

// The largest |x| over the finite elements of `t`.
double MaxAbsFinite(const Tensor& t) {
  double max_abs = 0;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const double x = std::fabs(t.GetFloat(i));
    if (std::isfinite(x)) max_abs = std::max(max_abs, x);
  }
  return max_abs;
}

// Finite inputs can still overflow FP32 inside the kernels: the scores
// q.k (before and after scaling, plus the mask) and the unnormalised sums of
// up to k_len values. Such inputs are rejected rather than answered with Inf
// or NaN. The bound keeps a factor 4 of headroom for BF16 rounding and
// summation order.
absl::Status CheckMagnitudes(const AttentionSpec& spec,
                             const AttentionInputs& in) {
  const double limit = std::numeric_limits<float>::max() / 4;
  const int64_t head_dim = in.query.dim(3), k_len = in.key.dim(2);
  const double max_query = MaxAbsFinite(in.query);
  const double max_key = MaxAbsFinite(in.key);
  const double scale = std::fabs(EffectiveScale(spec, head_dim));
  const double max_score =
      max_query * max_key * head_dim * std::max(1.0, scale) +
      (in.mask.empty() ? 0.0 : MaxAbsFinite(in.mask));
  if (max_score > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query and key values are too large: max |query| ", max_query,
        " * max |key| ", max_key, " * head_dim ", head_dim, " (spec.scale ",
        spec.scale, ", mask included) bounds the attention scores by ",
        max_score, ", expected <= ", limit, " (FP32 range / 4)"));
  }
  const double max_value = MaxAbsFinite(in.value);
  if (max_value * k_len > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("value values are too large: max |value| ", max_value,
                     " * k_len ", k_len, " is ", max_value * k_len,
                     ", expected <= ", limit, " (FP32 range / 4)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAttentionShapes(const AttentionSpec& spec,
                                     const AttentionInputs& in) {
  RETURN_IF_ERROR(
      CheckRank4(in.query, "query", "[batch, heads, q_len, head_dim]"));
  RETURN_IF_ERROR(CheckRank4(in.key, "key", "[batch, heads, k_len, head_dim]"));
  RETURN_IF_ERROR(
      CheckRank4(in.value, "value", "[batch, heads, k_len, v_dim]"));
  for (const auto& [t, name] :
       {std::pair<const Tensor*, const char*>{&in.key, "key"},
        {&in.value, "value"}}) {
    if (t->dtype() != in.query.dtype()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ".dtype is ", DTypeName(t->dtype()),
                       " but query.dtype is ", DTypeName(in.query.dtype()),
                       "; query, key and value must share one dtype"));
    }
  }
  RETURN_IF_ERROR(
      CheckDimsEqual(in.key, "key", in.query, "query", 0, "batch size"));
  RETURN_IF_ERROR(
      CheckDimsEqual(in.key, "key", in.query, "query", 1, "number of heads"));
  RETURN_IF_ERROR(
      CheckDimsEqual(in.query, "query", in.key, "key", 3, "head_dim"));
  for (int dim = 0; dim < 3; ++dim) {
    static constexpr const char* kWhat[] = {"batch size", "number of heads",
                                            "k_len"};
    RETURN_IF_ERROR(
        CheckDimsEqual(in.value, "value", in.key, "key", dim, kWhat[dim]));
  }
  const int64_t batch = in.query.dim(0);
  const int64_t k_len = in.key.dim(2);
  const std::vector<int64_t> full = {batch, in.query.dim(1), in.query.dim(2),
                                     k_len};
  if (!in.mask.empty()) {
    RETURN_IF_ERROR(CheckMaskShape(in.mask, full));
  }
  if (!in.key_lengths.empty() &&
      static_cast<int64_t>(in.key_lengths.size()) != batch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key_lengths has ", in.key_lengths.size(), " entries, expected 0 or ",
        batch, " (one per batch item, query.shape[0])"));
  }
  for (size_t b = 0; b < in.key_lengths.size(); ++b) {
    if (in.key_lengths[b] > k_len) {
      return absl::InvalidArgumentError(
          absl::StrCat("key_lengths[", b, "] is ", in.key_lengths[b],
                       ", expected <= ", k_len, " (key.shape[2])"));
    }
  }
  return ValidateAttentionSpec(spec, k_len);
}

absl::Status ValidateAttention(const AttentionSpec& spec,
                               const AttentionInputs& in) {
  RETURN_IF_ERROR(ValidateAttentionShapes(spec, in));
  RETURN_IF_ERROR(CheckValues(in.query, "query", false));
  RETURN_IF_ERROR(CheckValues(in.key, "key", false));
  RETURN_IF_ERROR(CheckValues(in.value, "value", false));
  if (!in.mask.empty()) {
    RETURN_IF_ERROR(CheckValues(in.mask, "mask", true));
  }
  return CheckMagnitudes(spec, in);
}

}  // namespace attnserve::core
