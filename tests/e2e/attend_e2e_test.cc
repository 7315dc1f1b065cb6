// End-to-end Attend over gRPC against the real attnserve binary: results
// against a hand-computed case and against core::Attend run in-process, and
// every INVALID_ARGUMENT case of CONTRACT.md §5.

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "attnserve/v1/attnserve.grpc.pb.h"
#include "core/attention/attention.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/proto_tensors.h"
#include "tests/e2e/server_process.h"

namespace attnserve::e2e {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AttendE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({"--compute_threads", "2"}, &start_error_)
                  .release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << start_error_;
    stub_ = v1::AttentionService::NewStub(server_->NewChannel());
  }

  grpc::Status Attend(const v1::AttendRequest& request,
                      v1::AttendResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return stub_->Attend(&context, request, response);
  }

  static ServerProcess* server_;
  static std::string start_error_;
  std::unique_ptr<v1::AttentionService::Stub> stub_;
};

ServerProcess* AttendE2ETest::server_ = nullptr;
std::string AttendE2ETest::start_error_;

TEST_F(AttendE2ETest, HandComputedSingleHead) {
  // One query [1, 0] over keys [1, 0], [0, 1]: scores 1/sqrt(2) and 0.
  v1::AttendRequest request;
  *request.mutable_query() = ProtoTensor({1, 1, 2}, {1, 0});
  *request.mutable_key() = ProtoTensor({1, 2, 2}, {1, 0, 0, 1});
  *request.mutable_value() = ProtoTensor({1, 2, 2}, {1, 2, 3, 4});
  request.set_return_weights(true);
  v1::AttendResponse response;
  grpc::Status status = Attend(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  const double e = std::exp(1.0 / std::sqrt(2.0));
  const double w0 = e / (e + 1), w1 = 1 / (e + 1);
  EXPECT_THAT(response.output().shape(), ElementsAre(1, 1, 2));
  EXPECT_EQ(response.output().dtype(), v1::FP32);
  std::vector<float> output = ProtoFloats(response.output());
  ASSERT_EQ(output.size(), 2u);
  EXPECT_NEAR(output[0], w0 * 1 + w1 * 3, 1e-6);
  EXPECT_NEAR(output[1], w0 * 2 + w1 * 4, 1e-6);
  EXPECT_THAT(response.weights().shape(), ElementsAre(1, 1, 2));
  std::vector<float> weights = ProtoFloats(response.weights());
  ASSERT_EQ(weights.size(), 2u);
  EXPECT_NEAR(weights[0], w0, 1e-6);
  EXPECT_NEAR(weights[1], w1, 1e-6);
}

struct InProcessCase {
  std::string name;
  bool rank3;
  int64_t batch, heads, q_len, k_len, head_dim, v_dim;
  bool with_mask_and_lengths;
  bool causal;
  bool raw_encoding;
};

// The server's answer equals core::Attend computed in this process.
TEST_F(AttendE2ETest, MatchesInProcessAttend) {
  const std::vector<InProcessCase> cases = {
      {"rank 4", false, 2, 3, 5, 7, 8, 6, false, false, true},
      {"rank 4 mask + key_lengths", false, 2, 2, 4, 6, 16, 16, true, false,
       false},
      {"rank 3", true, 3, 1, 6, 6, 8, 4, false, true, false},
      {"rank 3 mask + key_lengths", true, 2, 1, 3, 5, 4, 4, true, false, true},
  };
  uint32_t seed = 1;
  for (const InProcessCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<int64_t> q_shape = {c.batch, c.heads, c.q_len,
                                          c.head_dim};
    const std::vector<int64_t> k_shape = {c.batch, c.heads, c.k_len,
                                          c.head_dim};
    const std::vector<int64_t> v_shape = {c.batch, c.heads, c.k_len, c.v_dim};
    const std::vector<float> q = RandomFloats(NumElements(q_shape), seed++);
    const std::vector<float> k = RandomFloats(NumElements(k_shape), seed++);
    const std::vector<float> v = RandomFloats(NumElements(v_shape), seed++);
    const std::vector<float> mask = RandomFloats(c.q_len * c.k_len, seed++);
    auto wire =
        [&c](std::vector<int64_t> shape) {  // rank 3 drops the head axis
          if (c.rank3) shape.erase(shape.begin() + 1);
          return shape;
        };

    v1::AttendRequest request;
    *request.mutable_query() = ProtoTensor(wire(q_shape), q, c.raw_encoding);
    *request.mutable_key() = ProtoTensor(wire(k_shape), k, c.raw_encoding);
    *request.mutable_value() = ProtoTensor(wire(v_shape), v, c.raw_encoding);
    request.mutable_spec()->set_causal(c.causal);
    request.set_return_weights(true);
    core::AttentionSpec spec;
    spec.causal = c.causal;
    core::AttentionInputs in;
    in.query = core::Tensor::FromFloats(q_shape, q);
    in.key = core::Tensor::FromFloats(k_shape, k);
    in.value = core::Tensor::FromFloats(v_shape, v);
    in.return_weights = true;
    if (c.with_mask_and_lengths) {
      *request.mutable_mask() = ProtoTensor({c.q_len, c.k_len}, mask);
      in.mask = core::Tensor::FromFloats({1, 1, c.q_len, c.k_len}, mask);
      for (int64_t b = 0; b < c.batch; ++b) {
        const uint32_t length = static_cast<uint32_t>(c.k_len - b);
        request.add_key_lengths(length);
        in.key_lengths.push_back(length);
      }
    }
    core::AttentionOutputs expected;
    absl::Status computed = core::Attend(spec, in, &expected);
    ASSERT_TRUE(computed.ok()) << computed;

    v1::AttendResponse response;
    grpc::Status status = Attend(request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_THAT(response.output().shape(),
                ::testing::ElementsAreArray(
                    wire({c.batch, c.heads, c.q_len, c.v_dim})));
    EXPECT_THAT(response.weights().shape(),
                ::testing::ElementsAreArray(
                    wire({c.batch, c.heads, c.q_len, c.k_len})));
    const std::vector<float> output = ProtoFloats(response.output());
    const std::vector<float> weights = ProtoFloats(response.weights());
    ASSERT_EQ(int64_t(output.size()), expected.output.num_elements());
    ASSERT_EQ(int64_t(weights.size()), expected.weights.num_elements());
    for (size_t i = 0; i < output.size(); ++i) {
      ASSERT_NEAR(output[i], expected.output.GetFloat(i), 1e-5)
          << "output element " << i;
    }
    for (size_t i = 0; i < weights.size(); ++i) {
      ASSERT_NEAR(weights[i], expected.weights.GetFloat(i), 1e-6)
          << "weights element " << i;
    }
  }
}

// Every AttentionSpec field reaches the kernels: the server's answer equals
// core::Attend in-process with the same spec (sampling included: same seed,
// same draw).
TEST_F(AttendE2ETest, SpecsMatchInProcessAttend) {
  struct SpecCase {
    std::string name;
    v1::AttentionSpec proto;
    core::AttentionSpec spec;
  };
  std::vector<SpecCase> cases;
  {
    SpecCase c{"hard top_k 2", {}, {}};
    c.proto.set_weighting(v1::AttentionSpec::HARD);
    c.proto.set_top_k(2);
    c.spec.weighting = core::AttentionSpec::Weighting::kHard;
    c.spec.top_k = 2;
    cases.push_back(c);
  }
  {
    SpecCase c{"hard sampled top_k 3", {}, {}};
    c.proto.set_weighting(v1::AttentionSpec::HARD);
    c.proto.set_top_k(3);
    c.proto.set_sample(true);
    c.proto.set_seed(1234);
    c.spec.weighting = core::AttentionSpec::Weighting::kHard;
    c.spec.top_k = 3;
    c.spec.sample = true;
    c.spec.seed = 1234;
    cases.push_back(c);
  }
  {
    SpecCase c{"local window + global + causal", {}, {}};
    c.proto.set_scope(v1::AttentionSpec::LOCAL);
    c.proto.set_window_left(1);
    c.proto.set_window_right(2);
    c.proto.add_global_positions(0);
    c.proto.add_global_positions(5);
    c.proto.set_causal(true);
    c.spec.scope = core::AttentionSpec::Scope::kLocal;
    c.spec.window_left = 1;
    c.spec.window_right = 2;
    c.spec.global_positions = {0, 5};
    c.spec.causal = true;
    cases.push_back(c);
  }
  {
    SpecCase c{"local gaussian, scale", {}, {}};
    c.proto.set_scope(v1::AttentionSpec::LOCAL);
    c.proto.set_window_left(3);
    c.proto.set_window_right(3);
    c.proto.set_gaussian_sigma(1.5f);
    c.proto.set_scale(0.3f);
    c.spec.scope = core::AttentionSpec::Scope::kLocal;
    c.spec.window_left = 3;
    c.spec.window_right = 3;
    c.spec.gaussian_sigma = 1.5f;
    c.spec.scale = 0.3f;
    cases.push_back(c);
  }
  const std::vector<int64_t> shape = {2, 2, 8, 16};
  const std::vector<float> q = RandomFloats(NumElements(shape), 21);
  const std::vector<float> k = RandomFloats(NumElements(shape), 22);
  for (const SpecCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::AttendRequest request;
    *request.mutable_query() = ProtoTensor(shape, q, /*as_raw=*/true);
    *request.mutable_key() = ProtoTensor(shape, k, /*as_raw=*/true);
    *request.mutable_spec() = c.proto;
    request.set_return_weights(true);
    core::AttentionInputs in;
    in.query = core::Tensor::FromFloats(shape, q);
    in.key = core::Tensor::FromFloats(shape, k);
    in.value = in.key;
    in.return_weights = true;
    core::AttentionOutputs expected;
    absl::Status computed = core::Attend(c.spec, in, &expected);
    ASSERT_TRUE(computed.ok()) << computed;

    v1::AttendResponse response;
    grpc::Status status = Attend(request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const std::vector<float> output = ProtoFloats(response.output());
    const std::vector<float> weights = ProtoFloats(response.weights());
    ASSERT_EQ(int64_t(output.size()), expected.output.num_elements());
    ASSERT_EQ(int64_t(weights.size()), expected.weights.num_elements());
    for (size_t i = 0; i < output.size(); ++i) {
      ASSERT_NEAR(output[i], expected.output.GetFloat(i), 1e-5)
          << "output element " << i;
    }
    for (size_t i = 0; i < weights.size(); ++i) {
      ASSERT_NEAR(weights[i], expected.weights.GetFloat(i), 1e-6)
          << "weights element " << i;
    }
  }
}

TEST_F(AttendE2ETest, BF16OutputIsRawBF16) {
  const std::vector<int64_t> shape = {2, 4, 8, 32};
  const std::vector<float> q = RandomFloats(NumElements(shape), 11);
  v1::AttendRequest request;
  *request.mutable_query() = ProtoTensor(shape, q, /*as_raw=*/true);
  request.set_output_dtype(v1::BF16);
  v1::AttendResponse response;
  grpc::Status status = Attend(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.output().dtype(), v1::BF16);
  EXPECT_THAT(response.output().shape(), ElementsAre(2, 4, 8, 32));
  EXPECT_EQ(response.output().raw().size(), size_t(NumElements(shape)) * 2);
  EXPECT_FALSE(response.has_weights());

  // Against FP32 self-attention computed in-process: within BF16 rounding.
  core::AttentionInputs in;
  in.query = core::Tensor::FromFloats(shape, q);
  in.key = in.query;
  in.value = in.query;
  core::AttentionOutputs expected;
  ASSERT_TRUE(core::Attend(core::AttentionSpec(), in, &expected).ok());
  const std::vector<float> output = ProtoFloats(response.output());
  for (size_t i = 0; i < output.size(); ++i) {
    const float want = expected.output.GetFloat(i);
    ASSERT_NEAR(output[i], want, std::abs(want) * (1.0f / 256) + 1e-6f)
        << "element " << i;
  }
}

struct BadInputCase {
  std::string name;
  v1::AttendRequest request;
  std::string field;  // the message must name it
};

v1::AttendRequest SelfAttend(std::vector<int64_t> shape) {
  v1::AttendRequest request;
  *request.mutable_query() =
      ProtoTensor(shape, RandomFloats(NumElements(shape), 3));
  return request;
}

std::vector<BadInputCase> BadInputCases() {
  std::vector<BadInputCase> cases;
  cases.push_back({"rank 2", SelfAttend({4, 8}), "query.shape"});
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4, 8});
    *r.mutable_key() = ProtoTensor({1, 2, 4, 16}, RandomFloats(128, 4));
    cases.push_back({"head_dim mismatch", r, "key.shape[3]"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4, 8});
    *r.mutable_value() = ProtoTensor({1, 2, 5, 8}, RandomFloats(80, 4));
    cases.push_back({"value k_len mismatch", r, "value.shape[2]"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4, 8});
    *r.mutable_key() = ProtoTensor({2, 2, 4, 8}, RandomFloats(128, 4));
    cases.push_back({"batch mismatch", r, "key.shape[0]"});
  }
  {
    v1::AttendRequest r;
    *r.mutable_query() =
        ProtoTensor({2, 8, 64}, RandomFloats(2 * 8 * 64, 5), /*as_raw=*/true);
    r.mutable_query()->mutable_raw()->pop_back();
    cases.push_back({"raw byte count off by one", r,
                     "query.raw has 4095 bytes, expected 4096"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4});
    *r.mutable_key() = ProtoTensor({1, 2, 4}, RandomFloats(8, 6));
    r.mutable_key()->set_raw(std::string(32, '\0'));
    cases.push_back(
        {"values and raw both set", r, "key sets both values and raw"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4});
    r.mutable_query()->set_dtype(static_cast<v1::DType>(7));
    cases.push_back({"unknown dtype enum", r, "query.dtype"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4});
    r.mutable_query()->set_values(5, std::numeric_limits<float>::quiet_NaN());
    cases.push_back({"NaN in query", r, "query contains NaN"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4});
    r.mutable_query()->set_values(2, std::numeric_limits<float>::infinity());
    cases.push_back({"Inf in query", r, "query contains +Inf"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4});
    *r.mutable_value() = ProtoTensor({1, 2, 4}, RandomFloats(8, 7));
    r.mutable_value()->set_values(0, -std::numeric_limits<float>::infinity());
    cases.push_back({"-Inf in value", r, "value contains -Inf"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 4, 8});
    r.mutable_spec()->set_weighting(v1::AttentionSpec::HARD);
    cases.push_back({"top_k 0 for HARD", r, "spec.top_k"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 4, 8});
    r.mutable_spec()->set_weighting(v1::AttentionSpec::HARD);
    r.mutable_spec()->set_sample(true);
    r.mutable_spec()->set_top_k(5);
    cases.push_back({"top_k > k_len with sample", r, "spec.top_k"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 4, 8});
    r.mutable_spec()->set_scope(v1::AttentionSpec::LOCAL);
    r.mutable_spec()->set_window_left(UINT32_MAX);
    cases.push_back({"window_left UINT32_MAX", r, "spec.window_left"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 4, 8});
    r.mutable_spec()->set_scope(v1::AttentionSpec::LOCAL);
    r.mutable_spec()->set_window_right(UINT32_MAX);
    cases.push_back({"window_right UINT32_MAX", r, "spec.window_right"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 4, 8});
    r.mutable_spec()->set_scope(v1::AttentionSpec::LOCAL);
    r.mutable_spec()->set_window_left(1);
    r.mutable_spec()->add_global_positions(4);
    cases.push_back(
        {"global_positions out of range", r, "spec.global_positions[0]"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4});
    r.mutable_query()->clear_shape();
    r.mutable_query()->add_shape(int64_t{1} << 32);
    r.mutable_query()->add_shape(int64_t{1} << 32);
    r.mutable_query()->add_shape(4);
    cases.push_back({"shape product overflows int64", r, "query.shape"});
  }
  {
    v1::AttendRequest r = SelfAttend({2, 4, 8});
    r.add_key_lengths(4);
    r.add_key_lengths(4);
    r.add_key_lengths(4);
    cases.push_back({"key_lengths longer than batch", r, "key_lengths has 3"});
  }
  {
    v1::AttendRequest r = SelfAttend({2, 4, 8});
    r.add_key_lengths(4);
    r.add_key_lengths(5);
    cases.push_back({"key_lengths value > k_len", r, "key_lengths[1]"});
  }
  {
    v1::AttendRequest r = SelfAttend({2, 4, 8});
    *r.mutable_mask() = ProtoTensor({3, 4}, RandomFloats(12, 8));
    cases.push_back({"mask not broadcastable", r, "mask.shape"});
  }
  {
    v1::AttendRequest r = SelfAttend({2, 4, 8});
    r.mutable_query()->clear_values();
    r.mutable_query()->set_shape(1, 0);
    cases.push_back({"empty tensor", r, "query.shape[1]"});
  }
  {
    v1::AttendRequest r = SelfAttend({1, 2, 4});
    r.set_output_dtype(v1::FP16);
    cases.push_back({"FP16 output_dtype", r, "output_dtype"});
  }
  return cases;
}

TEST_F(AttendE2ETest, EveryBadInputIsInvalidArgumentNamingTheField) {
  for (const BadInputCase& c : BadInputCases()) {
    v1::AttendResponse response;
    grpc::Status status = Attend(c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.name << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.field)) << c.name;
  }
  // The server is still fine afterwards.
  v1::AttendResponse response;
  grpc::Status status = Attend(SelfAttend({2, 4, 8}), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.output().shape(), ElementsAre(2, 4, 8));
}

}  // namespace
}  // namespace attnserve::e2e
