#include "server/api/v1/proto_convert.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/attention/validate_attention.h"
#include "core/base/shape_string.h"
#include "core/base/status_macros.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "Tensor.raw is little-endian and is copied as is");

namespace attnserve::server {
namespace {

std::string ProtoDTypeName(int dtype) {
  if (v1::DType_IsValid(dtype))
    return v1::DType_Name(static_cast<v1::DType>(dtype));
  return absl::StrCat(dtype);
}

// Element size of `raw` for a valid proto dtype.
size_t RawElementSize(int dtype) {
  return dtype == v1::BF16 || dtype == v1::FP16 ? 2 : 4;
}

// a * b, or false when it overflows int64 or exceeds `limit`.
bool MultiplyWithin(int64_t a, int64_t b, int64_t limit, int64_t* product) {
  return !__builtin_mul_overflow(a, b, product) && *product <= limit;
}

// The request's output_dtype / compute_dtype.
// [B, S, D] -> [B, 1, S, D]; rank-4 tensors are returned as they are.
core::Tensor WithHeadAxis(const core::Tensor& t) {
  if (t.rank() == 4) return t;
  return t.Reshape({t.dim(0), 1, t.dim(1), t.dim(2)});
}

// The mask as rank 4, broadcastable to [B, H, Sq, Sk]: a rank-3 mask of a
// single-head request is [B, Sq, Sk]; otherwise dims are right-aligned.
absl::StatusOr<core::Tensor> MaskFromProto(const v1::Tensor& proto,
                                           int query_rank,
                                           const ConversionLimits& limits) {
  if (proto.dtype() != v1::DTYPE_UNSPECIFIED && proto.dtype() != v1::FP32) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask.dtype is ", ProtoDTypeName(proto.dtype()),
                     ", expected FP32 (the mask is additive FP32)"));
  }
  if (proto.shape_size() > query_rank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask.shape has rank ", proto.shape_size(), ", expected at most ",
        query_rank, " (the rank of query.shape)"));
  }
  ASSIGN_OR_RETURN(core::Tensor mask, TensorFromProto(proto, "mask", limits));
  std::vector<int64_t> shape(mask.shape().begin(), mask.shape().end());
  if (query_rank == 3 && shape.size() == 3) {
    shape.insert(shape.begin() + 1, 1);
  } else {
    shape.insert(shape.begin(), 4 - shape.size(), 1);
  }
  return mask.Reshape(std::move(shape));
}

// Requests too big to serve: RESOURCE_EXHAUSTED. Shapes are validated.
absl::Status CheckSizeLimits(const core::AttentionInputs& in,
                             const ConversionLimits& limits) {
  const int64_t b = in.query.dim(0), h = in.query.dim(1), sq = in.query.dim(2);
  const int64_t sk = in.key.dim(2), dv = in.value.dim(3);
  int64_t bhsq = 0, scores = 0;
  if (!MultiplyWithin(b * h, sq, limits.max_attention_scores, &bhsq) ||
      !MultiplyWithin(bhsq, sk, limits.max_attention_scores, &scores)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("query.shape ", core::ShapeString(in.query.shape()),
                     " and key.shape ", core::ShapeString(in.key.shape()),
                     " give more than ", limits.max_attention_scores,
                     " attention scores (batch * heads * q_len * k_len), the "
                     "server's limit"));
  }
  const int64_t output_bytes = bhsq * dv * core::DTypeSize(in.output_dtype);
  const int64_t weights_bytes = in.return_weights ? scores * 4 : 0;
  const int64_t response_bytes = output_bytes + weights_bytes;
  if (response_bytes > limits.max_response_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the response (output",
        in.return_weights ? " and weights, return_weights" : "",
        ") would take ", response_bytes,
        " bytes, more than the server's limit of ", limits.max_response_bytes,
        " bytes (--max_message_bytes)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<core::DType> ComputeDTypeFromProto(int dtype,
                                                  absl::string_view field) {
  switch (dtype) {
    case v1::DTYPE_UNSPECIFIED:
    case v1::FP32:
      return core::DType::kFP32;
    case v1::BF16:
      return core::DType::kBF16;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, " is ", ProtoDTypeName(dtype), ", expected FP32 or BF16"));
  }
}

absl::StatusOr<core::AttentionSpec> SpecFromProto(
    const v1::AttentionSpec& proto, absl::string_view field) {
  core::AttentionSpec spec;
  switch (proto.weighting()) {
    case v1::AttentionSpec::SOFT:
      spec.weighting = core::AttentionSpec::Weighting::kSoft;
      break;
    case v1::AttentionSpec::HARD:
      spec.weighting = core::AttentionSpec::Weighting::kHard;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".weighting is ", static_cast<int>(proto.weighting()),
          ", expected SOFT or HARD"));
  }
  switch (proto.scope()) {
    case v1::AttentionSpec::GLOBAL:
      spec.scope = core::AttentionSpec::Scope::kGlobal;
      break;
    case v1::AttentionSpec::LOCAL:
      spec.scope = core::AttentionSpec::Scope::kLocal;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".scope is ", static_cast<int>(proto.scope()),
                       ", expected GLOBAL or LOCAL"));
  }
  spec.top_k = proto.top_k();
  spec.sample = proto.sample();
  spec.seed = proto.seed();
  spec.window_left = proto.window_left();
  spec.window_right = proto.window_right();
  spec.global_positions.assign(proto.global_positions().begin(),
                               proto.global_positions().end());
  spec.gaussian_sigma = proto.gaussian_sigma();
  spec.causal = proto.causal();
  spec.scale = proto.scale();
  return spec;
}

ConversionLimits LimitsForMaxMessageBytes(int64_t max_message_bytes) {
  ConversionLimits limits;
  limits.max_tensor_elements = max_message_bytes / 2;
  limits.max_response_bytes = max_message_bytes;
  return limits;
}

absl::StatusOr<core::Tensor> TensorFromProto(const v1::Tensor& proto,
                                             absl::string_view field,
                                             const ConversionLimits& limits) {
  if (!v1::DType_IsValid(proto.dtype())) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".dtype is ", proto.dtype(),
                     ", expected DTYPE_UNSPECIFIED, FP32, BF16 or FP16"));
  }
  if (proto.shape_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".shape is empty, expected at least one dimension"));
  }
  for (int i = 0; i < proto.shape_size(); ++i) {
    if (proto.shape(i) < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".shape[", i, "] is ", proto.shape(i),
                       ", expected >= 1 (empty tensors are not accepted)"));
    }
  }
  const std::vector<int64_t> shape(proto.shape().begin(), proto.shape().end());
  ASSIGN_OR_RETURN(const int64_t n, core::Tensor::NumElements(
                                        shape, absl::StrCat(field, ".shape"),
                                        limits.max_tensor_elements));

  const bool has_values = proto.values_size() > 0;
  const bool has_raw = !proto.raw().empty();
  if (has_values && has_raw) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " sets both values and raw, expected exactly one"));
  }
  if (!has_values && !has_raw) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " sets neither values nor raw, expected one of them with ", n,
        " elements for shape ", core::ShapeString(shape)));
  }
  if (has_values) {
    if (proto.dtype() != v1::DTYPE_UNSPECIFIED && proto.dtype() != v1::FP32) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".dtype is ", ProtoDTypeName(proto.dtype()), " but ", field,
          ".values holds FP32 elements; send ", ProtoDTypeName(proto.dtype()),
          " data in ", field, ".raw or set dtype FP32"));
    }
    if (proto.values_size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".values has ", proto.values_size(), " elements, expected ", n,
          " for shape ", core::ShapeString(shape)));
    }
    return core::Tensor::FromFloats(shape, proto.values());
  }

  const size_t element_size = RawElementSize(proto.dtype());
  const size_t expected_bytes = size_t(n) * element_size;
  if (proto.raw().size() != expected_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".raw has ", proto.raw().size(), " bytes, expected ",
        expected_bytes, " for shape ", core::ShapeString(shape), " of ",
        proto.dtype() == v1::DTYPE_UNSPECIFIED
            ? "FP32"
            : ProtoDTypeName(proto.dtype())));
  }
  const char* raw = proto.raw().data();
  switch (proto.dtype()) {
    case v1::BF16: {
      core::Tensor t(core::DType::kBF16, shape);
      std::memcpy(t.raw_data(), raw, expected_bytes);
      return t;
    }
    case v1::FP16: {
      core::Tensor t(core::DType::kFP32, shape);
      float* out = t.data<float>();
      for (int64_t i = 0; i < n; ++i) {
        uint16_t half;
        std::memcpy(&half, raw + 2 * i, 2);
        out[i] = core::HalfToFloat(half);
      }
      return t;
    }
    default: {
      core::Tensor t(core::DType::kFP32, shape);
      std::memcpy(t.raw_data(), raw, expected_bytes);
      return t;
    }
  }
}

void TensorToProto(const core::Tensor& tensor, v1::Tensor* proto) {
  proto->Clear();
  for (int64_t d : tensor.shape()) proto->add_shape(d);
  proto->set_dtype(tensor.dtype() == core::DType::kBF16 ? v1::BF16 : v1::FP32);
  proto->set_raw(static_cast<const char*>(tensor.raw_data()),
                 tensor.num_bytes());
}

absl::StatusOr<AttendCall> AttendCallFromProto(const v1::AttendRequest& request,
                                               const ConversionLimits& limits) {
  if (!request.has_query()) {
    return absl::InvalidArgumentError(
        "query is not set, expected a tensor [batch, heads, q_len, head_dim] "
        "or "
        "[batch, q_len, head_dim]");
  }
  const int rank = request.query().shape_size();
  if (rank != 3 && rank != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query.shape has rank ", rank,
        ", expected 3 ([batch, q_len, head_dim]) or 4 ([batch, heads, q_len, "
        "head_dim])"));
  }
  AttendCall call;
  call.single_head = rank == 3;
  absl::StatusOr<core::AttentionSpec> spec =
      SpecFromProto(request.spec(), "spec");
  if (!spec.ok()) return spec.status();
  call.spec = *std::move(spec);

  absl::StatusOr<core::DType> output_dtype =
      ComputeDTypeFromProto(request.output_dtype(), "output_dtype");
  if (!output_dtype.ok()) return output_dtype.status();
  absl::StatusOr<core::DType> compute_dtype =
      ComputeDTypeFromProto(request.compute_dtype(), "compute_dtype");
  if (!compute_dtype.ok()) return compute_dtype.status();

  absl::StatusOr<core::Tensor> query =
      TensorFromProto(request.query(), "query", limits);
  if (!query.ok()) return query.status();
  core::Tensor key = *query;
  if (request.has_key()) {
    if (request.key().shape_size() != rank) {
      return absl::InvalidArgumentError(
          absl::StrCat("key.shape has rank ", request.key().shape_size(),
                       ", expected ", rank, " (the rank of query.shape)"));
    }
    ASSIGN_OR_RETURN(key, TensorFromProto(request.key(), "key", limits));
  }
  core::Tensor value = key;
  if (request.has_value()) {
    if (request.value().shape_size() != rank) {
      return absl::InvalidArgumentError(
          absl::StrCat("value.shape has rank ", request.value().shape_size(),
                       ", expected ", rank, " (the rank of query.shape)"));
    }
    ASSIGN_OR_RETURN(value, TensorFromProto(request.value(), "value", limits));
  }
  // query, key and value share one dtype: BF16 only when all three are.
  if (query->dtype() != key.dtype() || query->dtype() != value.dtype()) {
    if (query->dtype() != core::DType::kFP32)
      query = query->To(core::DType::kFP32);
    if (key.dtype() != core::DType::kFP32) key = key.To(core::DType::kFP32);
    if (value.dtype() != core::DType::kFP32)
      value = value.To(core::DType::kFP32);
  }

  core::AttentionInputs& in = call.inputs;
  in.query = WithHeadAxis(*query);
  in.key = WithHeadAxis(key);
  in.value = WithHeadAxis(value);
  if (request.has_mask()) {
    absl::StatusOr<core::Tensor> mask =
        MaskFromProto(request.mask(), rank, limits);
    if (!mask.ok()) return mask.status();
    in.mask = *std::move(mask);
  }
  in.key_lengths.assign(request.key_lengths().begin(),
                        request.key_lengths().end());
  in.compute_dtype = *compute_dtype;
  in.output_dtype = *output_dtype;
  in.return_weights = request.return_weights();

  absl::Status valid = core::ValidateAttention(call.spec, in);
  if (!valid.ok()) return valid;
  absl::Status within_limits = CheckSizeLimits(in, limits);
  if (!within_limits.ok()) return within_limits;
  return call;
}

void AttendResponseFromOutputs(const core::AttentionOutputs& outputs,
                               bool single_head, v1::AttendResponse* response) {
  auto drop_head_axis = [single_head](const core::Tensor& t) {
    if (!single_head) return t;
    return t.Reshape({t.dim(0), t.dim(2), t.dim(3)});
  };
  TensorToProto(drop_head_axis(outputs.output), response->mutable_output());
  if (!outputs.weights.empty()) {
    TensorToProto(drop_head_axis(outputs.weights), response->mutable_weights());
  }
}

absl::StatusOr<core::MultiHeadAttendInputs> MultiHeadInputsFromProto(
    const v1::MultiHeadAttendRequest& request, const ConversionLimits& limits) {
  core::MultiHeadAttendInputs inputs;
  inputs.layer = request.layer();
  absl::StatusOr<core::Tensor> hidden =
      TensorFromProto(request.hidden(), "hidden", limits);
  if (!hidden.ok()) return hidden.status();
  inputs.hidden = hidden->To(core::DType::kFP32);
  if (request.has_context()) {
    absl::StatusOr<core::Tensor> context =
        TensorFromProto(request.context(), "context", limits);
    if (!context.ok()) return context.status();
    inputs.context = context->To(core::DType::kFP32);
  }
  absl::StatusOr<core::AttentionSpec> spec =
      SpecFromProto(request.spec(), "spec");
  if (!spec.ok()) return spec.status();
  inputs.spec = *std::move(spec);
  inputs.lengths.assign(request.lengths().begin(), request.lengths().end());
  inputs.return_weights = request.return_weights();
  return inputs;
}

}  // namespace attnserve::server
