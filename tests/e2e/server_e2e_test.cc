// End-to-end behaviour of the attnserve binary around the computation:
// health, reflection, metrics, size limits, queueing, deadlines, shutdown.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "attnserve/v1/attnserve.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/proto_tensors.h"
#include "tests/e2e/server_process.h"

namespace attnserve::e2e {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kAttendMethod[] = "attnserve.v1.AttentionService/Attend";

std::unique_ptr<ServerProcess> StartOrDie(
    const std::vector<std::string>& args) {
  std::string error;
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(args, &error);
  EXPECT_NE(server, nullptr) << error;
  return server;
}

grpc::Status Attend(
    const ServerProcess& server, const v1::AttendRequest& request,
    v1::AttendResponse* response,
    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto stub = v1::AttentionService::NewStub(server.NewChannel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  return stub->Attend(&context, request, response);
}

v1::AttendRequest SelfAttend(std::vector<int64_t> shape) {
  v1::AttendRequest request;
  *request.mutable_query() =
      ProtoTensor(shape, RandomFloats(NumElements(shape), 1), /*as_raw=*/true);
  return request;
}

// The value of the Prometheus sample `name{...}` whose labels include every
// entry of `labels` (`key="value"` strings); 0 when absent.
double MetricValue(const std::string& exposition, const std::string& name,
                   const std::vector<std::string>& labels) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const std::string& label : labels)
      all = all && line.find(label) != std::string::npos;
    if (all) return std::atof(line.substr(line.rfind(' ') + 1).c_str());
  }
  return 0;
}

// A self-attention request that keeps `server`'s compute worker busy for at
// least ~400 ms, so that calls fired together overlap whatever the kernel's
// speed: doubles the sequence length until one call takes that long. Starts
// at 4096 (about 200 ms on one Zen 4 core with the oneDNN kernel), so that a
// machine busy during calibration cannot make the call trivially short.
v1::AttendRequest SlowAttend(const ServerProcess& server) {
  for (int64_t length = 4096;; length *= 2) {
    v1::AttendRequest request = SelfAttend({1, 1, length, 64});
    v1::AttendResponse response;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(Attend(server, request, &response).ok());
    if (std::chrono::steady_clock::now() - start >
            std::chrono::milliseconds(400) ||
        length >= 16384) {
      return request;
    }
  }
}

// Waits (at most 20 s) until the compute worker has started `n` submissions
// in all, as told by the queue-time histogram (recorded when compute starts).
void WaitForComputeStarts(const ServerProcess& server, double n) {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (MetricValue(server.ScrapeMetrics(),
                     "attnserve_queue_duration_seconds_count", {}) < n &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST(ServerE2ETest, HealthAndReflection) {
  std::unique_ptr<ServerProcess> server = StartOrDie({});
  ASSERT_NE(server, nullptr);
  using grpc::health::v1::HealthCheckResponse;
  EXPECT_EQ(server->HealthStatus(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(server->HealthStatus("attnserve.v1.AttentionService"),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(server->HealthStatus("attnserve.v1.EncoderService"),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(server->HealthStatus("no.such.Service"), -1);  // NOT_FOUND

  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(
      server->NewChannel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("*");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> services;
  for (const auto& service : response.list_services_response().service()) {
    services.push_back(service.name());
  }
  EXPECT_THAT(services, Contains("attnserve.v1.AttentionService"));
  EXPECT_THAT(services, Contains("attnserve.v1.EncoderService"));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));
  while (stream->Read(&response)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(ServerE2ETest, MetricsCountRequestsByMethodAndCode) {
  std::unique_ptr<ServerProcess> server = StartOrDie({});
  ASSERT_NE(server, nullptr);
  const std::vector<std::string> ok = {
      "method=\"" + std::string(kAttendMethod) + "\"", "code=\"OK\""};
  const std::vector<std::string> invalid = {
      "method=\"" + std::string(kAttendMethod) + "\"",
      "code=\"INVALID_ARGUMENT\""};
  const std::string before = server->ScrapeMetrics();
  ASSERT_THAT(before, HasSubstr("attnserve_queue_depth"));

  v1::AttendResponse response;
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(Attend(*server, SelfAttend({1, 4, 8}), &response).ok());
  EXPECT_EQ(Attend(*server, SelfAttend({4, 8}), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  const std::string after = server->ScrapeMetrics();
  EXPECT_EQ(MetricValue(after, "attnserve_requests_total", ok),
            MetricValue(before, "attnserve_requests_total", ok) + 2)
      << after;
  EXPECT_EQ(MetricValue(after, "attnserve_requests_total", invalid),
            MetricValue(before, "attnserve_requests_total", invalid) + 1);
  EXPECT_EQ(MetricValue(after, "attnserve_request_duration_seconds_count",
                        {"method=\"" + std::string(kAttendMethod) + "\""}),
            3);
  EXPECT_EQ(MetricValue(after, "attnserve_compute_duration_seconds_count",
                        {"model=\"attention\""}),
            2);
  EXPECT_THAT(after,
              HasSubstr("attnserve_request_duration_seconds_bucket{method=\"" +
                        std::string(kAttendMethod) + "\",le=\"0.0001\"}"));
  EXPECT_THAT(after, HasSubstr("le=\"30\""));
}

TEST(ServerE2ETest, MessageOverMaxMessageBytesIsResourceExhausted) {
  std::unique_ptr<ServerProcess> server =
      StartOrDie({"--max_message_bytes", "65536"});
  ASSERT_NE(server, nullptr);
  v1::AttendResponse response;
  // 1 * 64 * 256 FP32 = 64 KiB of raw data alone.
  grpc::Status status = Attend(*server, SelfAttend({1, 64, 256}), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  // Under the limit it works.
  ASSERT_TRUE(Attend(*server, SelfAttend({1, 16, 64}), &response).ok());
  // A response (with weights) over the limit is refused before computing.
  v1::AttendRequest with_weights = SelfAttend({1, 256, 8});
  with_weights.set_return_weights(true);
  status = Attend(*server, with_weights, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("return_weights"));
}

TEST(ServerE2ETest, PortInUseExitsNonZeroWithAClearMessage) {
  std::unique_ptr<ServerProcess> first = StartOrDie({});
  ASSERT_NE(first, nullptr);
  std::string error;
  std::unique_ptr<ServerProcess> second =
      ServerProcess::Start({"--address", first->address()}, &error);
  EXPECT_EQ(second, nullptr);
  EXPECT_THAT(error, HasSubstr("exited with code 1"));
  EXPECT_THAT(error, HasSubstr("cannot listen on " + first->address()));
}

TEST(ServerE2ETest, FullQueueIsResourceExhausted) {
  std::unique_ptr<ServerProcess> server =
      StartOrDie({"--max_queue_size", "1", "--compute_threads", "1"});
  ASSERT_NE(server, nullptr);
  const v1::AttendRequest request = SlowAttend(*server);
  const double computed_before = MetricValue(
      server->ScrapeMetrics(), "attnserve_compute_duration_seconds_count", {});
  constexpr int kCalls = 6;
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      v1::AttendResponse response;
      statuses[i] = Attend(*server, request, &response);
    });
  }
  for (std::thread& t : threads) t.join();
  int ok = 0, exhausted = 0;
  for (const grpc::Status& s : statuses) {
    if (s.ok()) ++ok;
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      EXPECT_THAT(s.error_message(), HasSubstr("is full"));
    }
  }
  EXPECT_EQ(ok + exhausted, kCalls);
  EXPECT_GE(ok, 1);
  EXPECT_GE(exhausted, 1);
  const std::string metrics = server->ScrapeMetrics();
  EXPECT_EQ(MetricValue(metrics, "attnserve_requests_total",
                        {"code=\"RESOURCE_EXHAUSTED\""}),
            exhausted);
  // Refused calls were never computed.
  EXPECT_EQ(
      MetricValue(metrics, "attnserve_compute_duration_seconds_count", {}),
      computed_before + ok);
}

TEST(ServerE2ETest, ExpiredWorkIsDroppedNotComputed) {
  std::unique_ptr<ServerProcess> server =
      StartOrDie({"--compute_threads", "1"});
  ASSERT_NE(server, nullptr);
  const v1::AttendRequest slow_request = SlowAttend(*server);
  const double computed_before = MetricValue(
      server->ScrapeMetrics(), "attnserve_compute_duration_seconds_count", {});
  grpc::Status slow_status;
  std::thread slow([&] {
    v1::AttendResponse response;
    slow_status = Attend(*server, slow_request, &response);
  });
  WaitForComputeStarts(*server, computed_before + 1);
  // Queued behind it with a short deadline: gives up while waiting.
  v1::AttendResponse response;
  grpc::Status status = Attend(*server, SelfAttend({1, 4, 8}), &response,
                               std::chrono::milliseconds(50));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  slow.join();
  ASSERT_TRUE(slow_status.ok()) << slow_status.error_message();
  // The worker then takes a fresh call.
  ASSERT_TRUE(Attend(*server, SelfAttend({1, 4, 8}), &response).ok());
  // Computed: the slow call and the fresh one, not the expired one.
  EXPECT_EQ(MetricValue(server->ScrapeMetrics(),
                        "attnserve_compute_duration_seconds_count", {}),
            computed_before + 2);
}

TEST(ServerE2ETest, CancelledWorkIsDroppedNotComputed) {
  std::unique_ptr<ServerProcess> server =
      StartOrDie({"--compute_threads", "1"});
  ASSERT_NE(server, nullptr);
  const v1::AttendRequest slow_request = SlowAttend(*server);
  const double computed_before = MetricValue(
      server->ScrapeMetrics(), "attnserve_compute_duration_seconds_count", {});
  grpc::Status slow_status;
  std::thread slow([&] {
    v1::AttendResponse response;
    slow_status = Attend(*server, slow_request, &response);
  });
  WaitForComputeStarts(*server, computed_before + 1);
  // A second call waits in the queue; the client cancels it there.
  auto stub = v1::AttentionService::NewStub(server->NewChannel());
  grpc::ClientContext context;
  v1::AttendResponse response;
  grpc::Status cancelled_status;
  std::thread queued([&] {
    cancelled_status = stub->Attend(&context, SelfAttend({1, 4, 8}), &response);
  });
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (MetricValue(server->ScrapeMetrics(), "attnserve_queue_depth", {}) <
             1 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  context.TryCancel();
  queued.join();
  EXPECT_EQ(cancelled_status.error_code(), grpc::StatusCode::CANCELLED);
  slow.join();
  ASSERT_TRUE(slow_status.ok()) << slow_status.error_message();
  ASSERT_TRUE(Attend(*server, SelfAttend({1, 4, 8}), &response).ok());
  // Computed: the slow call and the last one, not the cancelled one.
  EXPECT_EQ(MetricValue(server->ScrapeMetrics(),
                        "attnserve_compute_duration_seconds_count", {}),
            computed_before + 2);
}

TEST(ServerE2ETest, SigtermLetsTheCallInFlightFinishAndExitsZero) {
  std::unique_ptr<ServerProcess> server =
      StartOrDie({"--compute_threads", "1"});
  ASSERT_NE(server, nullptr);
  const v1::AttendRequest slow_request = SlowAttend(*server);
  const double computed_before = MetricValue(
      server->ScrapeMetrics(), "attnserve_compute_duration_seconds_count", {});
  // A health Watch stream open across the shutdown must not hold it up.
  auto health = grpc::health::v1::Health::NewStub(server->NewChannel());
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(120));
  auto watch = health->Watch(&watch_context, {});
  grpc::health::v1::HealthCheckResponse watched;
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_EQ(watched.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  grpc::Status slow_status;
  v1::AttendResponse slow_response;
  std::thread slow(
      [&] { slow_status = Attend(*server, slow_request, &slow_response); });
  WaitForComputeStarts(*server, computed_before + 1);
  server->Signal(SIGTERM);
  // Draining: health turns NOT_SERVING, the port closes and every connection
  // gets GOAWAY at once: a new connection is refused with UNAVAILABLE. A call
  // that raced the GOAWAY is served, never cancelled.
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_EQ(watched.status(),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  std::vector<grpc::StatusCode> probes;
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < give_up) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::ListModelsResponse models;
    probes.push_back(v1::EncoderService::NewStub(server->NewChannel())
                         ->ListModels(&context, {}, &models)
                         .error_code());
    if (probes.back() == grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(probes.back(), grpc::StatusCode::UNAVAILABLE);
  probes.pop_back();
  EXPECT_EQ(std::count(probes.begin(), probes.end(), grpc::StatusCode::OK),
            static_cast<int64_t>(probes.size()));
  slow.join();
  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  EXPECT_THAT(slow_response.output().shape(),
              ::testing::ElementsAreArray(slow_request.query().shape()));
  // The default grace period is 30 s: an exit within 20 s shows that the
  // Watch stream did not hold the server open.
  EXPECT_EQ(server->WaitForExit(std::chrono::seconds(20)), 0) << server->Log();
  while (watch->Read(&watched)) {
  }
  watch->Finish();
  EXPECT_THAT(server->Log(), HasSubstr("SIGTERM: shutting down"));
}

}  // namespace
}  // namespace attnserve::e2e
