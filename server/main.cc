// attnserve: the gRPC server binary. Flags: CONTRACT.md §6 (README.md lists
// them with defaults).

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/parallel.h"
#include "core/dnnl/dnnl_context.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/api/v1/attention_service.h"
#include "server/api/v1/proto_convert.h"
#include "server/encoder_service.h"
#include "server/infer/attention_work.h"
#include "server/infer/encode_work.h"
#include "server/metrics/metrics.h"
#include "server/metrics/scheduler_metrics.h"
#include "server/runtime/model_registry.h"
#include "server/runtime/shutdown_gate.h"
#include "server/scheduling/compute_executor.h"
#include "server/scheduling/scheduler.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "gRPC listen address host:port; port 0 picks a free port (printed at "
          "start)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9090",
          "Prometheus /metrics listen address host:port; empty disables; port "
          "0 picks one");
ABSL_FLAG(std::vector<std::string>, model, {},
          "NAME=DIR of a Hugging Face model directory; repeatable, the first "
          "is the default; "
          "`demo` is the built-in demo model");
ABSL_FLAG(int32_t, max_batch_size, 32,
          "most requests per batch (batching scheduler)");
ABSL_FLAG(int32_t, max_batch_tokens, 16384,
          "most tokens per batch (batching scheduler)");
ABSL_FLAG(int32_t, max_queue_delay_us, 0,
          "longest a request waits for a batch to fill (batching scheduler)");
ABSL_FLAG(int32_t, max_queue_size, 64,
          "requests waiting for compute per model; more are refused with "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(int32_t, max_queue_time_ms, 0,
          "refuse a request with RESOURCE_EXHAUSTED when the work queued "
          "ahead of it is expected to take longer than this (at the measured "
          "cost per token); bounds latency under overload; 0 = off");
ABSL_FLAG(int32_t, compute_threads, 0,
          "threads of the compute worker; 0 = all hardware threads");
ABSL_FLAG(int64_t, max_message_bytes, int64_t{64} << 20,
          "largest request and response message in bytes; larger is "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(
    int64_t, max_attention_scores, int64_t{1} << 28,
    "largest batch * heads * q_len * k_len of one Attend request; larger is "
    "RESOURCE_EXHAUSTED");
ABSL_FLAG(int32_t, shutdown_grace_ms, 30000,
          "on SIGTERM/SIGINT, how long calls in flight may take to finish "
          "before they are "
          "cancelled");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM server certificate chain file; enables TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key file of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA file; when set, clients must present a certificate it signed "
          "(mTLS)");

namespace attnserve::server {
namespace {

void Log(const char* format, ...) __attribute__((format(printf, 1, 2)));
void Log(const char* format, ...) {
  std::fputs("attnserve: ", stderr);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

// absl list flags keep only their last occurrence; `--model a --model b`
// becomes `--model=a,b` so every occurrence counts.
std::vector<std::string> MergeRepeatedModelFlags(int argc, char** argv) {
  std::vector<std::string> args = {argv[0]};
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      args.insert(args.end(), argv + i, argv + argc);
      break;
    }
    if ((arg == "--model" || arg == "-model") && i + 1 < argc) {
      models.push_back(argv[++i]);
    } else if (absl::StartsWith(arg, "--model=") ||
               absl::StartsWith(arg, "-model=")) {
      models.push_back(arg.substr(arg.find('=') + 1));
    } else {
      args.push_back(arg);
    }
  }
  if (!models.empty())
    args.insert(args.begin() + 1, "--model=" + absl::StrJoin(models, ","));
  return args;
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     const char* flag) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return absl::NotFoundError(
        absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials() {
  const std::string cert_path = absl::GetFlag(FLAGS_tls_cert);
  const std::string key_path = absl::GetFlag(FLAGS_tls_key);
  const std::string ca_path = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert_path.empty() && key_path.empty() && ca_path.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (cert_path.empty() || key_path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert and --tls_key");
  }
  absl::StatusOr<std::string> cert = ReadFile(cert_path, "tls_cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(key_path, "tls_key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(
      ca_path.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!ca_path.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(ca_path, "tls_client_ca");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  return grpc::SslServerCredentials(options);
}

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

absl::Status CheckFlags() {
  for (absl::Status s :
       {CheckPositive("max_batch_size", absl::GetFlag(FLAGS_max_batch_size)),
        CheckPositive("max_batch_tokens",
                      absl::GetFlag(FLAGS_max_batch_tokens)),
        CheckPositive("max_queue_size", absl::GetFlag(FLAGS_max_queue_size)),
        CheckPositive("max_message_bytes",
                      absl::GetFlag(FLAGS_max_message_bytes)),
        CheckPositive("max_attention_scores",
                      absl::GetFlag(FLAGS_max_attention_scores))}) {
    if (!s.ok()) return s;
  }
  if (absl::GetFlag(FLAGS_max_message_bytes) > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_message_bytes is ", absl::GetFlag(FLAGS_max_message_bytes),
        ", expected at most ", INT32_MAX, " (gRPC's limit)"));
  }
  if (absl::GetFlag(FLAGS_max_queue_delay_us) < 0 ||
      absl::GetFlag(FLAGS_max_queue_time_ms) < 0 ||
      absl::GetFlag(FLAGS_compute_threads) < 0 ||
      absl::GetFlag(FLAGS_shutdown_grace_ms) < 0) {
    return absl::InvalidArgumentError(
        "--max_queue_delay_us, --max_queue_time_ms, --compute_threads and "
        "--shutdown_grace_ms must be >= 0");
  }
  for (const std::string& model : absl::GetFlag(FLAGS_model)) {
    if (absl::StatusOr<ModelSpec> spec = ParseModelSpec(model); !spec.ok()) {
      return spec.status();
    }
  }
  return absl::OkStatus();
}

// After SIGTERM, the server stops once no call is in flight and none has been
// refused for this long (or the grace period has ended).
constexpr absl::Duration kShutdownQuiet = absl::Milliseconds(250);

// After calls in flight have finished: how long other calls get before they
// are cancelled. Those are health Watch streams and reflection, which never
// end by themselves, and calls gRPC has received but whose handler has not
// run yet (on a starved machine that can take long): their handler refuses
// them with UNAVAILABLE within this time instead of gRPC cancelling them.
constexpr std::chrono::milliseconds kShutdownTail(1000);

int Serve() {
  if (absl::Status flags = CheckFlags(); !flags.ok()) {
    Log("%s", std::string(flags.message()).c_str());
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentials();
  if (!credentials.ok()) {
    Log("%s", std::string(credentials.status().message()).c_str());
    return 2;
  }

  Metrics metrics;
  const std::string metrics_address = absl::GetFlag(FLAGS_metrics_address);
  if (!metrics_address.empty()) {
    absl::StatusOr<int> port = metrics.Serve(metrics_address);
    if (!port.ok()) {
      Log("%s", std::string(port.status().message()).c_str());
      return 1;
    }
    Log("metrics on http://%s/metrics",
        BoundAddress(metrics_address, *port).c_str());
  }

  const int compute_threads =
      absl::GetFlag(FLAGS_compute_threads) > 0
          ? absl::GetFlag(FLAGS_compute_threads)
          : std::max(1u, std::thread::hardware_concurrency());

  // Every kernel runs on this one thread, loading included (see
  // ComputeExecutor): one OpenMP team of `compute_threads` for the process.
  // When the server has been idle for a second, the allocator hands the
  // memory freed since back to the system: an idle server's RSS is what it
  // holds, not its peak (glibc keeps freed heap pages otherwise).
  ComputeExecutor executor(
      [compute_threads] { core::SetComputeThreads(compute_threads); },
      {absl::Seconds(1), [] { malloc_trim(0); }});

  // Models load before the port opens: a bad directory fails the start.
  std::vector<std::shared_ptr<ServedModel>> loaded;
  for (const std::string& flag : absl::GetFlag(FLAGS_model)) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::shared_ptr<ServedModel>> model;
    executor
        .Run([&] {
          model = LoadServedModel(*ParseModelSpec(flag));
          return absl::OkStatus();
        })
        .IgnoreError();
    if (!model.ok()) {
      Log("%s", std::string(model.status().message()).c_str());
      return 1;
    }
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
  base.max_queue_size = absl::GetFlag(FLAGS_max_queue_size);
  base.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  base.max_batch_tokens = absl::GetFlag(FLAGS_max_batch_tokens);
  base.max_queue_delay =
      absl::Microseconds(absl::GetFlag(FLAGS_max_queue_delay_us));
  base.max_queue_time =
      absl::Milliseconds(absl::GetFlag(FLAGS_max_queue_time_ms));
  std::mutex compute_mutex;
  base.compute_mutex = &compute_mutex;
  std::vector<std::unique_ptr<SchedulerMetrics>> observers;
  auto make_scheduler =
      [&](const std::string& name,
          ComputeFn compute) -> absl::StatusOr<std::unique_ptr<Scheduler>> {
    SchedulerOptions options = base;
    options.name = name;
    observers.push_back(std::make_unique<SchedulerMetrics>(&metrics, name));
    return Scheduler::Create(
        options,
        [&executor, compute = std::move(compute)](const Batch& batch) {
          return executor.Run([&] { return compute(batch); });
        },
        observers.back().get());
  };
  std::vector<std::unique_ptr<Scheduler>> schedulers;
  absl::StatusOr<std::unique_ptr<Scheduler>> attention_scheduler =
      make_scheduler("attention", ComputeAttentionBatch);
  if (!attention_scheduler.ok()) {
    Log("%s", std::string(attention_scheduler.status().message()).c_str());
    return 2;
  }
  for (const std::shared_ptr<ServedModel>& model : loaded) {
    const core::EncoderModel* encoder = model->encoder.get();
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler =
        make_scheduler(model->name, [encoder](const Batch& batch) {
          return ComputeEncodeBatch(*encoder, batch);
        });
    if (!scheduler.ok()) {
      Log("%s", std::string(scheduler.status().message()).c_str());
      return 2;
    }
    model->scheduler = scheduler->get();
    schedulers.push_back(*std::move(scheduler));
  }
  ModelRegistry registry(std::vector<std::shared_ptr<const ServedModel>>(
      loaded.begin(), loaded.end()));

  const int64_t max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  ConversionLimits limits = LimitsForMaxMessageBytes(max_message_bytes);
  limits.max_attention_scores = absl::GetFlag(FLAGS_max_attention_scores);
  ShutdownGate gate;
  AttentionServiceImpl attention_service(attention_scheduler->get(), &registry,
                                         &gate, limits);
  EncoderServiceImpl encoder_service(&registry, &gate);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address = absl::GetFlag(FLAGS_address);
  int port = 0;
  builder.AddListeningPort(address, *credentials, &port);
  // Without this, a second server on a taken port would silently share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(max_message_bytes));
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(metrics.NewRequestInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(&attention_service);
  builder.RegisterService(&encoder_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Log("cannot listen on %s (--address): the port is in use or the address is "
        "invalid",
        address.c_str());
    return 1;
  }

  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(v1::AttentionService::service_full_name(), true);
  health->SetServingStatus(v1::EncoderService::service_full_name(), true);
  Log("cpu isa %s, %d compute threads, max queue %d sequences and %d ms, "
      "batches of <= %d sequences and <= %d tokens, queue delay %d us, max "
      "message %lld bytes",
      core::DnnlContext::CpuIsaName().c_str(), compute_threads,
      absl::GetFlag(FLAGS_max_queue_size),
      absl::GetFlag(FLAGS_max_queue_time_ms),
      absl::GetFlag(FLAGS_max_batch_size),
      absl::GetFlag(FLAGS_max_batch_tokens),
      absl::GetFlag(FLAGS_max_queue_delay_us),
      static_cast<long long>(max_message_bytes));
  Log("listening on %s", BoundAddress(address, port).c_str());

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log("%s: shutting down (calls in flight get up to %d ms)",
      signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
      absl::GetFlag(FLAGS_shutdown_grace_ms));
  // Drain: health says NOT_SERVING and new calls get UNAVAILABLE while the
  // server still answers; calls in flight finish, and the server keeps
  // refusing until its clients have gone quiet (see ShutdownGate). Then stop
  // the server, which also ends health Watch streams (they would otherwise
  // hold it open).
  gate.Close();  // first: once health says NOT_SERVING, calls are refused
  health->SetServingStatus(false);
  const absl::Time grace_end =
      absl::Now() + absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms));
  if (!gate.WaitUntilQuiet(kShutdownQuiet, grace_end)) {
    Log("grace of %d ms over: calls still in flight are cancelled, and calls "
        "still arriving may see CANCELLED",
        absl::GetFlag(FLAGS_shutdown_grace_ms));
  }
  server->Shutdown(std::chrono::system_clock::now() + kShutdownTail);
  server->Wait();
  for (auto& scheduler : schedulers) scheduler->Shutdown();
  (*attention_scheduler)->Shutdown();
  Log("stopped");
  return 0;
}

}  // namespace

// The compute thread's OpenMP team (see ComputeExecutor) waits between
// parallel regions as libgomp's wait policy says. Its default spin (3 * 10^5
// iterations) holds the cores while idle: with other work on the machine (or,
// before ComputeExecutor, other teams waiting their turn) a 36-token encode
// took 1156 ms instead of 11 ms on a shared 2-core machine. libgomp reads its
// wait policy when it loads, before main, so when the operator has set neither
// OMP_WAIT_POLICY nor GOMP_SPINCOUNT the server re-executes itself once with
// GOMP_SPINCOUNT=1000: an idle team thread spins briefly (tens of
// microseconds) and then sleeps. Measured on a 2-core machine, MiniLM-L6, one
// 16-token text through gRPC (attnbench, 1 client, p50): passive (no spin,
// every parallel region wakes a sleeping thread) 3.9 ms; GOMP_SPINCOUNT 1000
// or 10^5 1.6 ms.
void PreferShortOpenMPSpinning(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr ||
      std::getenv("GOMP_SPINCOUNT") != nullptr) {
    return;
  }
  setenv("GOMP_SPINCOUNT", "1000", 1);
  execv("/proc/self/exe", argv);
  // execv returned: keep running with the default policy.
}

// glibc's malloc defaults let a server's RSS drift upwards with traffic
// (measured with tests/e2e/faults_python_test.py; each setting below made its
// RSS check flat):
// - each thread that contends for malloc gets an arena of its own, up to 8 per
//   core, and gRPC's callback threads spread small allocations over arenas
//   that are rarely returned to the system (32 -> 56 MiB over 3000 malformed
//   requests). Use one arena per 4 cores, at least 2.
// - the mmap threshold starts at 128 KiB and rises to the size of each large
//   block freed, so request-sized buffers (MiBs) move into the heap, where
//   they fragment it and stay. Fix it at 1 MiB: larger blocks are always
//   mapped and unmapped.
// The operator's MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ take precedence.
void TuneMalloc() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(
                             2u, std::thread::hardware_concurrency() / 4)));
  }
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
  }
}

}  // namespace attnserve::server

int main(int argc, char** argv) {
  attnserve::server::PreferShortOpenMPSpinning(argv);
  attnserve::server::TuneMalloc();
  // Signals are taken by sigwait() in Serve(); block them before any thread
  // starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::SetProgramUsageMessage(
      "attnserve: gRPC attention and encoder service (see README.md)");
  std::vector<std::string> args =
      attnserve::server::MergeRepeatedModelFlags(argc, argv);
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(arg_pointers.size()),
                         arg_pointers.data());
  return attnserve::server::Serve();
}
