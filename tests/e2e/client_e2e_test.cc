// The C++ client library (client/client.h) against the real server: every
// call it offers, and its retry on UNAVAILABLE.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/server_process.h"

namespace attnserve::e2e {
namespace {

using ::testing::HasSubstr;

class ClientE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    server_ = ServerProcess::Start({"--model", "demo"}, &error).release();
    ASSERT_NE(server_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static Client NewClient() {
    ClientOptions options;
    options.address = server_->address();
    options.timeout = std::chrono::seconds(30);
    return Client(options);
  }
  static ServerProcess* server_;
};
ServerProcess* ClientE2ETest::server_ = nullptr;

TEST_F(ClientE2ETest, HealthModelsTokenizeEncode) {
  Client client = NewClient();
  bool serving = false;
  ASSERT_TRUE(client.Health("", &serving).ok());
  EXPECT_TRUE(serving);
  v1::ListModelsResponse models;
  ASSERT_TRUE(client.ListModels(&models).ok());
  EXPECT_EQ(models.default_model(), "demo");
  v1::TokenizeRequest tokenize;
  tokenize.add_texts("hello world");
  tokenize.set_add_special_tokens(true);
  v1::TokenizeResponse tokens;
  ASSERT_TRUE(client.Tokenize(tokenize, &tokens).ok());
  ASSERT_EQ(tokens.results(0).tokens_size(), 4);
  v1::EncodeRequest encode;
  encode.add_texts("hello world");
  v1::EncodeResponse encoded;
  ASSERT_TRUE(client.Encode(encode, &encoded).ok());
  EXPECT_EQ(encoded.embeddings(0).pooled_size(), 128);
  EXPECT_EQ(encoded.total_tokens(), 4u);
}

TEST_F(ClientE2ETest, EncodeStreamAnswersEachRequestInOrder) {
  Client client = NewClient();
  std::vector<v1::EncodeRequest> requests(5);
  for (int i = 0; i < 5; ++i) {
    std::string text = "hello";
    for (int w = 0; w < i; ++w) text += " world";
    requests[i].add_texts(text);
  }
  std::vector<uint32_t> lengths;
  grpc::Status status =
      client.EncodeStream(requests, [&](const v1::EncodeResponse& r) {
        lengths.push_back(r.embeddings(0).num_tokens());
      });
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(lengths, (std::vector<uint32_t>{3, 4, 5, 6, 7}));
}

TEST_F(ClientE2ETest, AttendAndMultiHeadAttend) {
  Client client = NewClient();
  v1::AttendRequest attend;
  v1::Tensor* q = attend.mutable_query();
  for (int64_t d : {1, 2, 3}) q->add_shape(d);
  for (float v : {1.f, 0.f, 0.f, 1.f, 1.f, 1.f}) q->add_values(v);
  v1::AttendResponse attended;
  ASSERT_TRUE(client.Attend(attend, &attended).ok());
  EXPECT_THAT(attended.output().shape(), ::testing::ElementsAre(1, 2, 3));

  v1::MultiHeadAttendRequest mha;
  v1::Tensor* hidden = mha.mutable_hidden();
  for (int64_t d : {1, 3, 128}) hidden->add_shape(d);
  for (int i = 0; i < 3 * 128; ++i) hidden->add_values(0.01f * (i % 17));
  mha.set_layer(1);
  mha.set_return_weights(true);
  v1::MultiHeadAttendResponse out;
  grpc::Status status = client.MultiHeadAttend(mha, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(out.output().shape(), ::testing::ElementsAre(1, 3, 128));
  EXPECT_THAT(out.weights().shape(), ::testing::ElementsAre(1, 4, 3, 3));
  mha.set_model("missing");
  status = client.MultiHeadAttend(mha, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("missing"));
}

TEST(ClientRetryTest, GivesUpWithUnavailableWhereNothingListens) {
  ClientOptions options;
  options.address = "127.0.0.1:1";  // nothing listens on port 1
  options.timeout = std::chrono::seconds(5);
  options.max_retries = 2;
  options.initial_backoff = std::chrono::milliseconds(100);
  Client client(options);
  v1::ListModelsResponse models;
  EXPECT_EQ(client.ListModels(&models).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(ClientServiceConfigTest, RoundRobinHealthCheckingAndTheRetryPolicy) {
  ClientOptions options;
  options.max_retries = 2;
  options.initial_backoff = std::chrono::milliseconds(50);
  const nlohmann::json config =
      nlohmann::json::parse(ClientServiceConfig(options));
  EXPECT_EQ(config["loadBalancingConfig"][0].count("round_robin"), 1);
  EXPECT_EQ(config["healthCheckConfig"]["serviceName"], "");
  const nlohmann::json& method = config["methodConfig"][0];
  EXPECT_EQ(method["name"].size(), 3);
  EXPECT_EQ(method["retryPolicy"]["maxAttempts"], 3);
  EXPECT_EQ(method["retryPolicy"]["initialBackoff"], "0.05s");
  EXPECT_EQ(method["retryPolicy"]["maxBackoff"], "0.8s");
  EXPECT_EQ(method["retryPolicy"]["retryableStatusCodes"][0], "UNAVAILABLE");
  options.max_retries = 9;  // gRPC allows 5 attempts
  EXPECT_EQ(nlohmann::json::parse(ClientServiceConfig(
                options))["methodConfig"][0]["retryPolicy"]["maxAttempts"],
            5);
  options.max_retries = 0;
  EXPECT_EQ(
      nlohmann::json::parse(ClientServiceConfig(options))["methodConfig"][0]
          .count("retryPolicy"),
      0);
}

}  // namespace
}  // namespace attnserve::e2e
