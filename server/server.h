#ifndef ATTNSERVE_SERVER_SERVER_H_
#define ATTNSERVE_SERVER_SERVER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/api/kserve_v2/inference_service.h"
#include "server/api/v1/attention_service.h"
#include "server/api/v1/encoder_service.h"
#include "server/metrics/metrics.h"
#include "server/metrics/scheduler_metrics.h"
#include "server/runtime/model_registry.h"
#include "server/runtime/shutdown_gate.h"
#include "server/scheduling/compute_executor.h"
#include "server/scheduling/scheduler.h"

namespace attnserve::server {

// The attnserve server as a library (TF Serving's shape): main fills Options
// from the flags (server_flags.h), BuildAndStart loads the models and opens
// the ports, Wait serves until SIGTERM or SIGINT and drains.
class Server {
 public:
  // CONTRACT.md §6; defaults as the flags'.
  struct Options {
    std::string address = "127.0.0.1:50051";
    std::string metrics_address = "127.0.0.1:9090";  // empty: no metrics
    std::vector<std::string> models;  // --model values: NAME=DIR or demo
    int32_t max_batch_size = 32;
    int32_t max_batch_tokens = 16384;
    int32_t max_queue_delay_us = 0;
    int32_t max_queue_size = 64;
    int32_t max_queue_time_ms = 0;
    int32_t compute_threads = 0;  // 0: all hardware threads
    int64_t max_message_bytes = int64_t{64} << 20;
    int64_t max_attention_scores = int64_t{1} << 28;
    int32_t shutdown_grace_ms = 30000;
    // The listening port's credentials (tls_credentials.h); null: insecure.
    std::shared_ptr<grpc::ServerCredentials> credentials;
  };

  // Checks the values (sizes >= 1, durations >= 0, model specs); errors name
  // the flag.
  static absl::Status CheckOptions(const Options& options);

  // Starts the metrics endpoint, loads every model on the compute thread
  // (a bad directory fails the start), creates the schedulers and opens the
  // gRPC port. Errors say what failed (the model and file, the address).
  // The caller must have blocked SIGTERM and SIGINT in every thread (Wait
  // takes them with sigwait).
  static absl::StatusOr<std::unique_ptr<Server>> BuildAndStart(
      const Options& options);

  // Serves until SIGTERM or SIGINT, then drains: health says NOT_SERVING,
  // streams end, and once clients that health-check have left (at most
  // 500 ms) gRPC sends GOAWAY; calls in flight get up to shutdown_grace_ms.
  void Wait();

  ~Server();

 private:
  explicit Server(const Options& options);

  const Options options_;
  Metrics metrics_;
  std::unique_ptr<ComputeExecutor> executor_;
  std::mutex compute_mutex_;
  std::vector<std::unique_ptr<SchedulerMetrics>> observers_;
  std::unique_ptr<Scheduler> attention_scheduler_;
  std::vector<std::unique_ptr<Scheduler>> schedulers_;
  std::unique_ptr<ModelRegistry> registry_;
  ShutdownGate gate_;
  std::unique_ptr<AttentionServiceImpl> attention_service_;
  std::unique_ptr<EncoderServiceImpl> encoder_service_;
  std::unique_ptr<kserve_v2::InferenceServiceImpl> inference_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SERVER_H_
