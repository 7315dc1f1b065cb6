#include "server/server.h"

#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/dnnl/dnnl_context.h"
#include "grpc/grpc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/api/v1/proto_convert.h"
#include "server/infer/attention_work.h"
#include "server/infer/encode_work.h"
#include "server/runtime/goaway.h"
#include "server/runtime/log.h"

namespace attnserve::server {
namespace {

// "127.0.0.1:0" with port 43210 bound -> "127.0.0.1:43210".
std::string BoundAddress(const std::string& address, int port) {
  const size_t colon = address.rfind(':');
  if (absl::StartsWith(address, "unix:") || colon == std::string::npos)
    return address;
  return absl::StrCat(address.substr(0, colon), ":", port);
}

absl::Status CheckPositive(const char* flag, int64_t value) {
  if (value >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " is ", value, ", expected >= 1"));
}

// After the GOAWAY, the drain waits this long without a new call (every client
// has read it, and the transport refuses later streams), at most
// kClientsLeaveMax, before grpc::Server::Shutdown.
constexpr absl::Duration kClientsQuiet = absl::Milliseconds(100);
constexpr absl::Duration kClientsLeaveMax = absl::Seconds(1);

// Once the calls in flight are done, how long health Watch and reflection
// streams get before they are cancelled.
constexpr std::chrono::milliseconds kShutdownTail(1000);

}  // namespace

absl::Status Server::CheckOptions(const Options& options) {
  for (absl::Status s :
       {CheckPositive("max_batch_size", options.max_batch_size),
        CheckPositive("max_batch_tokens", options.max_batch_tokens),
        CheckPositive("max_queue_size", options.max_queue_size),
        CheckPositive("max_message_bytes", options.max_message_bytes),
        CheckPositive("max_attention_scores", options.max_attention_scores)}) {
    RETURN_IF_ERROR(s);
  }
  if (options.max_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_message_bytes is ", options.max_message_bytes,
                     ", expected at most ", INT32_MAX, " (gRPC's limit)"));
  }
  if (options.max_queue_delay_us < 0 || options.max_queue_time_ms < 0 ||
      options.compute_threads < 0 || options.shutdown_grace_ms < 0) {
    return absl::InvalidArgumentError(
        "--max_queue_delay_us, --max_queue_time_ms, --compute_threads and "
        "--shutdown_grace_ms must be >= 0");
  }
  for (const std::string& model : options.models) {
    RETURN_IF_ERROR(ParseModelSpec(model));
  }
  return absl::OkStatus();
}

Server::Server(const Options& options) : options_(options) {}

Server::~Server() = default;

absl::StatusOr<std::unique_ptr<Server>> Server::BuildAndStart(
    const Options& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  std::unique_ptr<Server> server(new Server(options));
  Metrics& metrics = server->metrics_;
  if (!options.metrics_address.empty()) {
    ASSIGN_OR_RETURN(const int port, metrics.Serve(options.metrics_address));
    Log("metrics on http://%s/metrics",
        BoundAddress(options.metrics_address, port).c_str());
  }

  const int compute_threads =
      options.compute_threads > 0
          ? options.compute_threads
          : std::max(1u, std::thread::hardware_concurrency());

  // Every kernel runs on this one thread, loading included (see
  // ComputeExecutor): one OpenMP team of `compute_threads` for the process.
  // When the server has been idle for a second, the allocator hands the
  // memory freed since back to the system: an idle server's RSS is what it
  // holds, not its peak (glibc keeps freed heap pages otherwise).
  server->executor_ = std::make_unique<ComputeExecutor>(
      [compute_threads] { core::SetComputeThreads(compute_threads); },
      IdleTask{absl::Seconds(1), [] { malloc_trim(0); }});
  ComputeExecutor& executor = *server->executor_;

  // Models load before the port opens: a bad directory fails the start.
  std::vector<std::shared_ptr<ServedModel>> loaded;
  for (const std::string& flag : options.models) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::shared_ptr<ServedModel>> model;
    executor
        .Run([&] {
          model = LoadServedModel(*ParseModelSpec(flag));
          return absl::OkStatus();
        })
        .IgnoreError();
    RETURN_IF_ERROR(model);
    const core::ModelInfo& info = (*model)->info;
    Log("model %s loaded in %.2f s: %s, %lld layers, hidden %lld, %lld heads, "
        "max length %lld",
        (*model)->name.c_str(), absl::ToDoubleSeconds(absl::Now() - start),
        info.architecture.c_str(), static_cast<long long>(info.num_layers),
        static_cast<long long>(info.hidden_size),
        static_cast<long long>(info.num_heads),
        static_cast<long long>(info.max_length));
    metrics.SetModelInfo((*model)->name, info.architecture);
    loaded.push_back(*std::move(model));
  }

  // One batching scheduler per model plus one for Attend / MultiHeadAttend.
  // Each has one worker that forms batches and hands them to the compute
  // thread; workers of different queues take turns through the compute mutex
  // (so a batch that waits for it can still be dropped, and compute times
  // exclude the wait), and the compute thread's OpenMP team owns the cores.
  SchedulerOptions base;
  base.max_queue_size = options.max_queue_size;
  base.max_batch_size = options.max_batch_size;
  base.max_batch_tokens = options.max_batch_tokens;
  base.max_queue_delay = absl::Microseconds(options.max_queue_delay_us);
  base.max_queue_time = absl::Milliseconds(options.max_queue_time_ms);
  base.compute_mutex = &server->compute_mutex_;
  auto make_scheduler =
      [&](const std::string& name,
          ComputeFn compute) -> absl::StatusOr<std::unique_ptr<Scheduler>> {
    SchedulerOptions scheduler_options = base;
    scheduler_options.name = name;
    server->observers_.push_back(
        std::make_unique<SchedulerMetrics>(&metrics, name));
    return Scheduler::Create(
        scheduler_options,
        [&executor, compute = std::move(compute)](const Batch& batch) {
          return executor.Run([&] { return compute(batch); });
        },
        server->observers_.back().get());
  };
  ASSIGN_OR_RETURN(server->attention_scheduler_,
                   make_scheduler("attention", ComputeAttentionBatch));
  for (const std::shared_ptr<ServedModel>& model : loaded) {
    const core::EncoderModel* encoder = model->encoder.get();
    ASSIGN_OR_RETURN(std::unique_ptr<Scheduler> scheduler,
                     make_scheduler(model->name, [encoder](const Batch& batch) {
                       return ComputeEncodeBatch(*encoder, batch);
                     }));
    model->scheduler = scheduler.get();
    model->tokenize_cpu_seconds = &metrics.TokenizeCpuSeconds(model->name);
    server->schedulers_.push_back(std::move(scheduler));
  }
  server->registry_ = std::make_unique<ModelRegistry>(
      std::vector<std::shared_ptr<const ServedModel>>(loaded.begin(),
                                                      loaded.end()));

  ConversionLimits limits = LimitsForMaxMessageBytes(options.max_message_bytes);
  limits.max_attention_scores = options.max_attention_scores;
  server->attention_service_ = std::make_unique<AttentionServiceImpl>(
      server->attention_scheduler_.get(), server->registry_.get(),
      &server->gate_, limits);
  server->encoder_service_ = std::make_unique<EncoderServiceImpl>(
      server->registry_.get(), &server->gate_);
  server->inference_service_ =
      std::make_unique<kserve_v2::InferenceServiceImpl>(
          server->attention_scheduler_.get(), server->registry_.get(),
          &server->gate_, limits);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.address,
                           options.credentials != nullptr
                               ? options.credentials
                               : grpc::InsecureServerCredentials(),
                           &port);
  // Without this, a second server on a taken port would silently share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(metrics.NewRequestInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(server->attention_service_.get());
  builder.RegisterService(server->encoder_service_.get());
  builder.RegisterService(server->inference_service_.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.address,
        " (--address): the port is in use or the address is invalid"));
  }

  grpc::HealthCheckServiceInterface* health =
      server->grpc_server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(v1::AttentionService::service_full_name(), true);
  health->SetServingStatus(v1::EncoderService::service_full_name(), true);
  health->SetServingStatus(inference::GRPCInferenceService::service_full_name(),
                           true);
  Log("cpu isa %s, %d compute threads, max queue %d sequences and %d ms, "
      "batches of <= %d sequences and <= %d tokens, queue delay %d us, max "
      "message %lld bytes",
      core::DnnlContext::CpuIsaName().c_str(), compute_threads,
      options.max_queue_size, options.max_queue_time_ms, options.max_batch_size,
      options.max_batch_tokens, options.max_queue_delay_us,
      static_cast<long long>(options.max_message_bytes));
  Log("listening on %s", BoundAddress(options.address, port).c_str());
  return server;
}

void Server::Wait() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log("%s: shutting down (calls in flight get up to %d ms)",
      signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
      options_.shutdown_grace_ms);
  // Drain, bounded by the grace period:
  // 1. Health says NOT_SERVING, streams end between messages, the port closes
  //    and every connection gets GOAWAY (StopListeningAndSendGoaways). Every
  //    client, health-checking or not, opens its next calls elsewhere; unary
  //    calls that raced the GOAWAY are served; later ones are refused by the
  //    transport and retried elsewhere by gRPC itself.
  // 2. Once no call has arrived for kClientsQuiet, at most kClientsLeaveMax:
  //    grpc::Server::Shutdown, which cancels any call that still arrives.
  //    Calls in flight finish until the grace period ends, then gRPC cancels
  //    them.
  // 3. Once attnserve's own calls are done, what may be left are health Watch
  //    and reflection streams, which never end by themselves: they get
  //    kShutdownTail, then they are cancelled.
  const absl::Time grace_end =
      absl::Now() + absl::Milliseconds(options_.shutdown_grace_ms);
  gate_.Close();
  grpc_server_->GetHealthCheckService()->SetServingStatus(false);
  StopListeningAndSendGoaways(*grpc_server_);
  const absl::Time goaway = absl::Now();
  const bool quiet = gate_.WaitUntilQuiet(
      kClientsQuiet, std::min(grace_end, goaway + kClientsLeaveMax));
  Log("GOAWAY sent; %s after %.0f ms",
      quiet ? "no new call" : "calls still arriving",
      absl::ToDoubleMilliseconds(absl::Now() - goaway));
  std::promise<void> stopped_promise;
  std::future<void> stopped = stopped_promise.get_future();
  std::thread stopping([this, grace_end, &stopped_promise] {
    grpc_server_->Shutdown(absl::ToChronoTime(grace_end));
    stopped_promise.set_value();
  });
  if (!gate_.WaitUntilQuiet(absl::ZeroDuration(), grace_end)) {
    Log("grace of %d ms over: calls still in flight are cancelled",
        options_.shutdown_grace_ms);
  }
  if (stopped.wait_for(kShutdownTail) == std::future_status::timeout) {
    grpc_server_cancel_all_calls(grpc_server_->c_server());
  }
  stopping.join();
  grpc_server_->Wait();
  for (auto& scheduler : schedulers_) scheduler->Shutdown();
  attention_scheduler_->Shutdown();
  Log("stopped");
}

}  // namespace attnserve::server
