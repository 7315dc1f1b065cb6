#ifndef ATTNSERVE_SERVER_METRICS_METRICS_H_
#define ATTNSERVE_SERVER_METRICS_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace attnserve::server {

// The server's Prometheus metrics (CONTRACT.md §7), recorded at the edges:
// the gRPC layer counts requests, the compute worker times queueing and
// compute.
class Metrics {
 public:
  Metrics();

  // Serves GET /metrics on `address` ("host:port"; port 0 picks a free one)
  // and returns the bound port.
  absl::StatusOr<int> Serve(const std::string& address);

  // `method` is the gRPC method without the leading slash
  // ("attnserve.v1.AttentionService/Attend"); `code` a status code name.
  void RecordRequest(absl::string_view method, absl::string_view code,
                     double seconds);
  // attnserve_requests_in_flight{method}: calls started and not yet over.
  prometheus::Gauge& InFlight(const std::string& method);
  prometheus::Gauge& QueueDepth(const std::string& model);
  prometheus::Histogram& QueueDuration(const std::string& model);
  prometheus::Histogram& ComputeDuration(const std::string& model);
  prometheus::Histogram& BatchSize(const std::string& model);
  prometheus::Histogram& BatchTokens(const std::string& model);
  prometheus::Counter& Tokens(const std::string& model);
  // attnserve_tokenize_cpu_seconds_total{model}: CPU time the gRPC threads
  // spent in the model's tokenizer (Encode, EncodePair).
  prometheus::Counter& TokenizeCpuSeconds(const std::string& model);
  prometheus::Counter& Shed(const std::string& model,
                            const std::string& reason);
  // attnserve_model_info{model,architecture} = 1 for each served model.
  void SetModelInfo(const std::string& model, const std::string& architecture);

  // Counts and times every call of a server built with it, whatever the
  // service, with its final status code.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewRequestInterceptorFactory();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Histogram>& queue_duration_;
  prometheus::Family<prometheus::Histogram>& compute_duration_;
  prometheus::Family<prometheus::Histogram>& batch_size_;
  prometheus::Family<prometheus::Histogram>& batch_tokens_;
  prometheus::Family<prometheus::Counter>& tokens_;
  prometheus::Family<prometheus::Counter>& tokenize_cpu_seconds_;
  prometheus::Family<prometheus::Counter>& shed_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// "OK", "INVALID_ARGUMENT", ... as in the gRPC documentation.
absl::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_METRICS_METRICS_H_
