#include "server/api/v1/proto_convert.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::server {
namespace {

using ::testing::HasSubstr;

v1::Tensor FloatsProto(std::vector<int64_t> shape, std::vector<float> values) {
  v1::Tensor t;
  for (int64_t d : shape) t.add_shape(d);
  for (float v : values) t.add_values(v);
  return t;
}

// Values 0, 1, 2, ... as `values`.
v1::Tensor IotaProto(std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = 0.25f * float(i % 7) - 0.5f;
  return FloatsProto(shape, values);
}

std::string RawBytes(const void* data, size_t bytes) {
  return std::string(static_cast<const char*>(data), bytes);
}

TEST(TensorFromProtoTest, ValuesBecomeFP32) {
  auto t =
      TensorFromProto(FloatsProto({2, 3}, {1, 2, 3, 4, 5, 6}), "query", {});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->dtype(), core::DType::kFP32);
  EXPECT_THAT(t->shape(), ::testing::ElementsAre(2, 3));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t->data<float>()[i], float(i + 1));
}

TEST(TensorFromProtoTest, RawFP32AndUnspecifiedAreLittleEndianFloats) {
  const float values[3] = {1.5f, -2.0f, 1e-3f};
  for (v1::DType dtype : {v1::FP32, v1::DTYPE_UNSPECIFIED}) {
    v1::Tensor proto;
    proto.add_shape(3);
    proto.set_dtype(dtype);
    proto.set_raw(RawBytes(values, sizeof(values)));
    auto t = TensorFromProto(proto, "key", {});
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->dtype(), core::DType::kFP32);
    EXPECT_EQ(std::memcmp(t->raw_data(), values, sizeof(values)), 0);
  }
}

TEST(TensorFromProtoTest, RawFP16BecomesFP32) {
  // 1.0, -2.0, 65504 (largest half), smallest subnormal.
  const uint16_t halves[4] = {0x3c00, 0xc000, 0x7bff, 0x0001};
  v1::Tensor proto;
  proto.add_shape(2);
  proto.add_shape(2);
  proto.set_dtype(v1::FP16);
  proto.set_raw(RawBytes(halves, sizeof(halves)));
  auto t = TensorFromProto(proto, "query", {});
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->dtype(), core::DType::kFP32);
  EXPECT_EQ(t->data<float>()[0], 1.0f);
  EXPECT_EQ(t->data<float>()[1], -2.0f);
  EXPECT_EQ(t->data<float>()[2], 65504.0f);
  EXPECT_EQ(t->data<float>()[3], std::ldexp(1.0f, -24));
}

TEST(TensorFromProtoTest, RawBF16StaysBF16) {
  const uint16_t bits[2] = {0x3f80, 0xc020};  // 1.0, -2.5
  v1::Tensor proto;
  proto.add_shape(2);
  proto.set_dtype(v1::BF16);
  proto.set_raw(RawBytes(bits, sizeof(bits)));
  auto t = TensorFromProto(proto, "value", {});
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->dtype(), core::DType::kBF16);
  EXPECT_EQ(t->GetFloat(0), 1.0f);
  EXPECT_EQ(t->GetFloat(1), -2.5f);
}

struct TensorErrorCase {
  std::string name;
  v1::Tensor proto;
  std::string message;  // expected substring
};

std::vector<TensorErrorCase> TensorErrorCases() {
  std::vector<TensorErrorCase> cases;
  cases.push_back({"no shape", FloatsProto({}, {1}), "query.shape is empty"});
  cases.push_back({"zero dim", FloatsProto({2, 0, 3}, {}),
                   "query.shape[1] is 0, expected >= 1"});
  cases.push_back(
      {"negative dim", FloatsProto({-2, 3}, {1}), "query.shape[0] is -2"});
  cases.push_back({"product overflows int64",
                   FloatsProto({int64_t{1} << 40, int64_t{1} << 40, 4}, {1}),
                   "query.shape has more than"});
  {
    v1::Tensor both = FloatsProto({1}, {1});
    both.set_raw(std::string(4, '\0'));
    cases.push_back({"values and raw", both, "query sets both values and raw"});
  }
  cases.push_back({"neither", FloatsProto({2, 3}, {}),
                   "query sets neither values nor raw, expected one of them "
                   "with 6 elements"});
  cases.push_back({"values count", FloatsProto({2, 3}, {1, 2, 3, 4, 5}),
                   "query.values has 5 elements, expected 6 for shape [2, 3]"});
  {
    v1::Tensor raw = FloatsProto({2, 8, 64}, {});
    raw.set_dtype(v1::FP32);
    raw.set_raw(std::string(4095, '\0'));
    cases.push_back({"raw off by one", raw,
                     "query.raw has 4095 bytes, expected 4096 for shape [2, 8, "
                     "64] of FP32"});
  }
  {
    v1::Tensor raw = FloatsProto({3}, {});
    raw.set_dtype(v1::BF16);
    raw.set_raw(std::string(12, '\0'));
    cases.push_back(
        {"raw BF16 given FP32 bytes", raw,
         "query.raw has 12 bytes, expected 6 for shape [3] of BF16"});
  }
  {
    v1::Tensor unknown = FloatsProto({1}, {1});
    unknown.set_dtype(static_cast<v1::DType>(7));
    cases.push_back({"unknown dtype", unknown, "query.dtype is 7, expected"});
  }
  {
    v1::Tensor values_bf16 = FloatsProto({1}, {1});
    values_bf16.set_dtype(v1::BF16);
    cases.push_back({"values with dtype BF16", values_bf16,
                     "query.dtype is BF16 but query.values"});
  }
  return cases;
}

TEST(TensorFromProtoTest, EveryErrorNamesTheField) {
  for (const TensorErrorCase& c : TensorErrorCases()) {
    auto t = TensorFromProto(c.proto, "query", {});
    ASSERT_FALSE(t.ok()) << c.name;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(c.message))
        << c.name;
  }
}

TEST(TensorFromProtoTest, ElementLimitComesFromMessageSize) {
  const ConversionLimits limits = LimitsForMaxMessageBytes(1000);
  EXPECT_EQ(limits.max_tensor_elements, 500);
  EXPECT_TRUE(TensorFromProto(IotaProto({500}), "query", limits).ok());
  auto t = TensorFromProto(IotaProto({501}), "query", limits);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("query.shape has more than 500"));
}

TEST(TensorToProtoTest, RoundTripsFP32AndBF16) {
  core::Tensor fp32 =
      core::Tensor::FromFloats({2, 2}, std::vector<float>{1, -2, 3.5f, 0});
  for (const core::Tensor& t : {fp32, fp32.To(core::DType::kBF16)}) {
    v1::Tensor proto;
    TensorToProto(t, &proto);
    EXPECT_EQ(proto.dtype(),
              t.dtype() == core::DType::kBF16 ? v1::BF16 : v1::FP32);
    EXPECT_EQ(proto.values_size(), 0);
    EXPECT_EQ(proto.raw().size(), t.num_bytes());
    auto back = TensorFromProto(proto, "output", {});
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->dtype(), t.dtype());
    EXPECT_THAT(back->shape(), ::testing::ElementsAre(2, 2));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(back->GetFloat(i), fp32.GetFloat(i));
  }
}

v1::AttendRequest SelfAttendRequest(std::vector<int64_t> query_shape) {
  v1::AttendRequest request;
  *request.mutable_query() = IotaProto(query_shape);
  return request;
}

TEST(AttendCallFromProtoTest, RankThreeGetsAHeadAxisAndSelfAttentionDefaults) {
  auto call = AttendCallFromProto(SelfAttendRequest({2, 5, 4}), {});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_TRUE(call->single_head);
  EXPECT_THAT(call->inputs.query.shape(), ::testing::ElementsAre(2, 1, 5, 4));
  EXPECT_THAT(call->inputs.key.shape(), ::testing::ElementsAre(2, 1, 5, 4));
  EXPECT_THAT(call->inputs.value.shape(), ::testing::ElementsAre(2, 1, 5, 4));
  EXPECT_EQ(call->inputs.key.raw_data(), call->inputs.query.raw_data());
  EXPECT_EQ(call->inputs.value.raw_data(), call->inputs.query.raw_data());
  EXPECT_TRUE(call->inputs.mask.empty());
  EXPECT_EQ(call->inputs.output_dtype, core::DType::kFP32);
  EXPECT_EQ(call->inputs.compute_dtype, core::DType::kFP32);
}

TEST(AttendCallFromProtoTest, ValueDefaultsToKeyAndSpecIsCopied) {
  v1::AttendRequest request = SelfAttendRequest({1, 2, 3, 4});
  *request.mutable_key() = IotaProto({1, 2, 6, 4});
  request.mutable_spec()->set_weighting(v1::AttentionSpec::HARD);
  request.mutable_spec()->set_top_k(2);
  request.mutable_spec()->set_scope(v1::AttentionSpec::LOCAL);
  request.mutable_spec()->set_window_left(1);
  request.mutable_spec()->set_window_right(2);
  request.mutable_spec()->add_global_positions(5);
  request.mutable_spec()->set_causal(true);
  request.mutable_spec()->set_scale(0.5f);
  request.add_key_lengths(4);
  request.set_return_weights(true);
  request.set_output_dtype(v1::BF16);
  request.set_compute_dtype(v1::BF16);
  auto call = AttendCallFromProto(request, {});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_FALSE(call->single_head);
  EXPECT_EQ(call->inputs.value.raw_data(), call->inputs.key.raw_data());
  EXPECT_THAT(call->inputs.value.shape(), ::testing::ElementsAre(1, 2, 6, 4));
  const core::AttentionSpec& spec = call->spec;
  EXPECT_EQ(spec.weighting, core::AttentionSpec::Weighting::kHard);
  EXPECT_EQ(spec.top_k, 2u);
  EXPECT_EQ(spec.scope, core::AttentionSpec::Scope::kLocal);
  EXPECT_EQ(spec.window_left, 1u);
  EXPECT_EQ(spec.window_right, 2u);
  EXPECT_THAT(spec.global_positions, ::testing::ElementsAre(5u));
  EXPECT_TRUE(spec.causal);
  EXPECT_EQ(spec.scale, 0.5f);
  EXPECT_THAT(call->inputs.key_lengths, ::testing::ElementsAre(4u));
  EXPECT_TRUE(call->inputs.return_weights);
  EXPECT_EQ(call->inputs.output_dtype, core::DType::kBF16);
  EXPECT_EQ(call->inputs.compute_dtype, core::DType::kBF16);
}

TEST(AttendCallFromProtoTest, MasksAreRightAlignedToRankFour) {
  struct MaskCase {
    std::vector<int64_t> query_shape;
    std::vector<int64_t> mask_shape;
    std::vector<int64_t> expected;
  };
  const std::vector<MaskCase> cases = {
      {{2, 3, 4},
       {2, 3, 3},
       {2, 1, 3, 3}},  // rank-3 mask of a rank-3 request: [B, Sq, Sk]
      {{2, 3, 4}, {3, 3}, {1, 1, 3, 3}},           // [Sq, Sk]
      {{2, 3, 4}, {3}, {1, 1, 1, 3}},              // [Sk]
      {{2, 2, 3, 4}, {2, 1, 3, 3}, {2, 1, 3, 3}},  // rank 4 as is
      {{2, 2, 3, 4},
       {2, 3, 3},
       {1, 2, 3, 3}},  // rank-3 mask of a rank-4 request: [H, Sq, Sk]
  };
  for (const MaskCase& c : cases) {
    v1::AttendRequest request = SelfAttendRequest(c.query_shape);
    *request.mutable_mask() = IotaProto(c.mask_shape);
    auto call = AttendCallFromProto(request, {});
    ASSERT_TRUE(call.ok()) << call.status();
    EXPECT_THAT(call->inputs.mask.shape(),
                ::testing::ElementsAreArray(c.expected));
  }
}

TEST(AttendCallFromProtoTest, MixedDTypesComputeFromFP32) {
  v1::AttendRequest request = SelfAttendRequest({1, 2, 4});
  const uint16_t bf16[8] = {0x3f80, 0x3f80, 0x3f80, 0x3f80, 0, 0, 0, 0};
  request.mutable_key()->add_shape(1);
  request.mutable_key()->add_shape(2);
  request.mutable_key()->add_shape(4);
  request.mutable_key()->set_dtype(v1::BF16);
  request.mutable_key()->set_raw(RawBytes(bf16, sizeof(bf16)));
  auto call = AttendCallFromProto(request, {});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->inputs.key.dtype(), core::DType::kFP32);
  EXPECT_EQ(call->inputs.value.dtype(), core::DType::kFP32);
  EXPECT_EQ(call->inputs.key.data<float>()[0], 1.0f);
}

struct AttendErrorCase {
  std::string name;
  v1::AttendRequest request;
  absl::StatusCode code;
  std::string message;  // expected substring, naming the field
};

std::vector<AttendErrorCase> AttendErrorCases() {
  std::vector<AttendErrorCase> cases;
  auto invalid = [&cases](std::string name, v1::AttendRequest request,
                          std::string message) {
    cases.push_back({std::move(name), std::move(request),
                     absl::StatusCode::kInvalidArgument, std::move(message)});
  };
  invalid("no query", v1::AttendRequest(), "query is not set");
  invalid("rank 2", SelfAttendRequest({2, 64}),
          "query.shape has rank 2, expected 3 ([batch, q_len, head_dim]) or 4 "
          "([batch, heads, "
          "q_len, head_dim])");
  invalid("rank 5", SelfAttendRequest({1, 1, 1, 2, 4}),
          "query.shape has rank 5");
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    *r.mutable_key() = IotaProto({1, 1, 2, 4});
    invalid("key rank", r,
            "key.shape has rank 4, expected 3 (the rank of query.shape)");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    *r.mutable_value() = IotaProto({1, 2});
    invalid("value rank", r, "value.shape has rank 2, expected 3");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    r.set_output_dtype(v1::FP16);
    invalid("FP16 output", r, "output_dtype is FP16, expected FP32 or BF16");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    r.set_compute_dtype(static_cast<v1::DType>(9));
    invalid("unknown compute dtype", r,
            "compute_dtype is 9, expected FP32 or BF16");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    r.mutable_spec()->set_weighting(
        static_cast<v1::AttentionSpec::Weighting>(5));
    invalid("unknown weighting", r, "spec.weighting is 5");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    r.mutable_spec()->set_scope(static_cast<v1::AttentionSpec::Scope>(3));
    invalid("unknown scope", r, "spec.scope is 3");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    *r.mutable_mask() = IotaProto({1, 1, 2, 2});
    invalid("mask rank above query's", r,
            "mask.shape has rank 4, expected at most 3");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    const uint16_t bf16[4] = {0, 0, 0, 0};
    r.mutable_mask()->add_shape(2);
    r.mutable_mask()->add_shape(2);
    r.mutable_mask()->set_dtype(v1::BF16);
    r.mutable_mask()->set_raw(RawBytes(bf16, sizeof(bf16)));
    invalid("BF16 mask", r, "mask.dtype is BF16, expected FP32");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    r.mutable_value()->add_shape(1);
    r.mutable_value()->add_shape(2);
    r.mutable_value()->add_shape(4);
    r.mutable_value()->add_values(1);
    invalid("value count", r,
            "value.values has 1 elements, expected 8 for shape [1, 2, 4]");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    r.mutable_key()->add_shape(1);
    r.mutable_key()->add_shape(0);
    r.mutable_key()->add_shape(4);
    invalid("empty key", r, "key.shape[1] is 0");
  }
  // Passed up unchanged from core::ValidateAttention, which names the field.
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    r.mutable_spec()->set_weighting(v1::AttentionSpec::HARD);
    invalid("top_k 0 for HARD", r, "top_k");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    *r.mutable_key() = IotaProto({1, 2, 8});
    invalid("head_dim mismatch", r, "shape");
  }
  {
    v1::AttendRequest r = SelfAttendRequest({1, 2, 4});
    r.mutable_query()->set_values(3, std::numeric_limits<float>::quiet_NaN());
    invalid("NaN in query", r, "query");
  }
  // Too big to serve.
  {
    v1::AttendRequest r = SelfAttendRequest({1, 64, 1});
    r.set_return_weights(true);
    cases.push_back({"scores over the limit", r,
                     absl::StatusCode::kResourceExhausted, "attention scores"});
  }
  return cases;
}

TEST(AttendCallFromProtoTest, EveryErrorNamesTheField) {
  ConversionLimits limits;
  limits.max_attention_scores = 64 * 64 - 1;
  for (const AttendErrorCase& c : AttendErrorCases()) {
    auto call = AttendCallFromProto(c.request, limits);
    ASSERT_FALSE(call.ok()) << c.name;
    EXPECT_EQ(call.status().code(), c.code) << c.name << ": " << call.status();
    EXPECT_THAT(std::string(call.status().message()), HasSubstr(c.message))
        << c.name;
  }
}

TEST(AttendCallFromProtoTest, ResponseOverTheMessageLimitIsResourceExhausted) {
  // Output [1, 1, 64, 1] FP32 = 256 bytes, weights [1, 1, 64, 64] = 16 KiB.
  ConversionLimits limits;
  limits.max_response_bytes = 1024;
  v1::AttendRequest request = SelfAttendRequest({1, 64, 1});
  EXPECT_TRUE(AttendCallFromProto(request, limits).ok());
  request.set_return_weights(true);
  auto call = AttendCallFromProto(request, limits);
  EXPECT_EQ(call.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(call.status().message()),
              HasSubstr("return_weights"));
}

TEST(AttendResponseFromOutputsTest, SingleHeadDropsTheHeadAxis) {
  core::AttentionOutputs outputs;
  outputs.output = core::Tensor::Zeros(core::DType::kBF16, {2, 1, 3, 5});
  outputs.weights = core::Tensor::Zeros(core::DType::kFP32, {2, 1, 3, 4});
  v1::AttendResponse response;
  AttendResponseFromOutputs(outputs, /*single_head=*/true, &response);
  EXPECT_THAT(response.output().shape(), ::testing::ElementsAre(2, 3, 5));
  EXPECT_EQ(response.output().dtype(), v1::BF16);
  EXPECT_EQ(response.output().raw().size(), 2u * 3 * 5 * 2);
  EXPECT_THAT(response.weights().shape(), ::testing::ElementsAre(2, 3, 4));
  EXPECT_EQ(response.weights().dtype(), v1::FP32);

  v1::AttendResponse multi_head;
  outputs.weights = core::Tensor();
  AttendResponseFromOutputs(outputs, /*single_head=*/false, &multi_head);
  EXPECT_THAT(multi_head.output().shape(), ::testing::ElementsAre(2, 1, 3, 5));
  EXPECT_FALSE(multi_head.has_weights());
}

}  // namespace
}  // namespace attnserve::server
