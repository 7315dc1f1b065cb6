#include "server/metrics/metrics.h"

#include <exception>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace attnserve::server {
namespace {

// 100 us .. 30 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
  return *buckets;
}

// The methods attnserve implements: attnserve.v1's, and the six of the Open
// Inference Protocol (Triton's other inference.GRPCInferenceService methods
// are UNIMPLEMENTED for real).
bool IsOwnMethod(absl::string_view method) {
  if (absl::StartsWith(method, "attnserve.v1.")) return true;
  for (absl::string_view rpc :
       {"ServerLive", "ServerReady", "ModelReady", "ServerMetadata",
        "ModelMetadata", "ModelInfer"}) {
    if (method == absl::StrCat("inference.GRPCInferenceService/", rpc)) {
      return true;
    }
  }
  return false;
}

class RequestInterceptor : public grpc::experimental::Interceptor {
 public:
  RequestInterceptor(Metrics* metrics, absl::string_view method)
      : metrics_(metrics),
        method_(method),
        start_(absl::Now()),
        in_flight_(metrics->InFlight(method_)) {
    in_flight_.Increment();
  }
  // gRPC destroys a call's interceptors when the call is over, whether it
  // ended with a status, a cancellation or a broken connection.
  ~RequestInterceptor() override { in_flight_.Decrement(); }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      // gRPC answers UNIMPLEMENTED with no message when a unary request does
      // not deserialize (grpcpp's callback handler, "if deserialization or
      // reactor creator failed"); attnserve's handlers always create a
      // reactor, so on its own methods that is a malformed request: e.g. a
      // proto3 string (texts, model) that is not UTF-8.
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty() && IsOwnMethod(method_)) {
        status = grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("the request to ", method_,
                         " is not a valid protobuf message of its type; string "
                         "fields (",
                         absl::StartsWith(method_, "attnserve.v1.")
                             ? "texts, model"
                             : "model_name, names, parameters",
                         ") must be valid UTF-8"));
        methods->ModifySendStatus(status);
      }
      metrics_->RecordRequest(method_, StatusCodeName(status.error_code()),
                              absl::ToDoubleSeconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  Metrics* const metrics_;
  const std::string method_;
  const absl::Time start_;
  prometheus::Gauge& in_flight_;
};

class RequestInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RequestInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    absl::string_view method = info->method();
    if (!method.empty() && method.front() == '/') method.remove_prefix(1);
    return new RequestInterceptor(metrics_, method);
  }

 private:
  Metrics* const metrics_;
};

// Requests per batch: 1 .. 256.
const prometheus::Histogram::BucketBoundaries& BatchSizeBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      1, 2, 4, 8, 16, 32, 64, 128, 256};
  return *buckets;
}

// Tokens per batch: 16 .. 64Ki.
const prometheus::Histogram::BucketBoundaries& BatchTokenBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      16, 64, 256, 1024, 4096, 16384, 65536};
  return *buckets;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("attnserve_requests_total")
                    .Help("gRPC calls by method and final status code")
                    .Register(*registry_)),
      request_duration_(prometheus::BuildHistogram()
                            .Name("attnserve_request_duration_seconds")
                            .Help("gRPC call latency, from the server's first "
                                  "look to the status")
                            .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("attnserve_requests_in_flight")
                     .Help("gRPC calls started and not yet over, by method")
                     .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("attnserve_queue_depth")
                       .Help("requests waiting for a compute worker")
                       .Register(*registry_)),
      queue_duration_(prometheus::BuildHistogram()
                          .Name("attnserve_queue_duration_seconds")
                          .Help("time from submission to the start of compute")
                          .Register(*registry_)),
      compute_duration_(prometheus::BuildHistogram()
                            .Name("attnserve_compute_duration_seconds")
                            .Help("compute time per batch on a compute worker")
                            .Register(*registry_)),
      batch_size_(prometheus::BuildHistogram()
                      .Name("attnserve_batch_size")
                      .Help("requests per computed batch")
                      .Register(*registry_)),
      batch_tokens_(prometheus::BuildHistogram()
                        .Name("attnserve_batch_tokens")
                        .Help("real tokens (Attend: cost units) per batch")
                        .Register(*registry_)),
      tokens_(prometheus::BuildCounter()
                  .Name("attnserve_tokens_total")
                  .Help("tokens computed")
                  .Register(*registry_)),
      tokenize_cpu_seconds_(
          prometheus::BuildCounter()
              .Name("attnserve_tokenize_cpu_seconds_total")
              .Help("CPU time of the calling threads spent tokenizing texts")
              .Register(*registry_)),
      shed_(prometheus::BuildCounter()
                .Name("attnserve_shed_total")
                .Help("sequences refused or dropped before compute, by reason")
                .Register(*registry_)),
      model_info_(prometheus::BuildGauge()
                      .Name("attnserve_model_info")
                      .Help("served models (value 1)")
                      .Register(*registry_)) {}

absl::StatusOr<int> Metrics::Serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address,
                     " (--metrics_address): ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  const std::vector<int> ports = exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on ", address, " (--metrics_address)"));
  }
  return ports.front();
}

void Metrics::RecordRequest(absl::string_view method, absl::string_view code,
                            double seconds) {
  requests_.Add({{"method", std::string(method)}, {"code", std::string(code)}})
      .Increment();
  request_duration_.Add({{"method", std::string(method)}}, LatencyBuckets())
      .Observe(seconds);
}

prometheus::Gauge& Metrics::InFlight(const std::string& method) {
  return in_flight_.Add({{"method", method}});
}

prometheus::Gauge& Metrics::QueueDepth(const std::string& model) {
  return queue_depth_.Add({{"model", model}});
}

prometheus::Histogram& Metrics::QueueDuration(const std::string& model) {
  return queue_duration_.Add({{"model", model}}, LatencyBuckets());
}

prometheus::Histogram& Metrics::ComputeDuration(const std::string& model) {
  return compute_duration_.Add({{"model", model}}, LatencyBuckets());
}

prometheus::Histogram& Metrics::BatchSize(const std::string& model) {
  return batch_size_.Add({{"model", model}}, BatchSizeBuckets());
}

prometheus::Histogram& Metrics::BatchTokens(const std::string& model) {
  return batch_tokens_.Add({{"model", model}}, BatchTokenBuckets());
}

prometheus::Counter& Metrics::Tokens(const std::string& model) {
  return tokens_.Add({{"model", model}});
}

prometheus::Counter& Metrics::TokenizeCpuSeconds(const std::string& model) {
  return tokenize_cpu_seconds_.Add({{"model", model}});
}

prometheus::Counter& Metrics::Shed(const std::string& model,
                                   const std::string& reason) {
  return shed_.Add({{"model", model}, {"reason", reason}});
}

void Metrics::SetModelInfo(const std::string& model,
                           const std::string& architecture) {
  model_info_.Add({{"model", model}, {"architecture", architecture}}).Set(1);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::NewRequestInterceptorFactory() {
  return std::make_unique<RequestInterceptorFactory>(this);
}

absl::string_view StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return "UNKNOWN";
  }
}

}  // namespace attnserve::server
