#include "server/server_flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "server/tls_credentials.h"

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

}  // namespace

void ParseServerFlags(int argc, char** argv) {
  std::vector<std::string> args = MergeRepeatedModelFlags(argc, argv);
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(arg_pointers.size()),
                         arg_pointers.data());
}

absl::StatusOr<Server::Options> ServerOptionsFromFlags() {
  Server::Options options;
  options.address = absl::GetFlag(FLAGS_address);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options.models = absl::GetFlag(FLAGS_model);
  options.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  options.max_batch_tokens = absl::GetFlag(FLAGS_max_batch_tokens);
  options.max_queue_delay_us = absl::GetFlag(FLAGS_max_queue_delay_us);
  options.max_queue_size = absl::GetFlag(FLAGS_max_queue_size);
  options.max_queue_time_ms = absl::GetFlag(FLAGS_max_queue_time_ms);
  options.compute_threads = absl::GetFlag(FLAGS_compute_threads);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.max_attention_scores = absl::GetFlag(FLAGS_max_attention_scores);
  options.shutdown_grace_ms = absl::GetFlag(FLAGS_shutdown_grace_ms);
  RETURN_IF_ERROR(Server::CheckOptions(options));
  ASSIGN_OR_RETURN(options.credentials,
                   ServerCredentials(absl::GetFlag(FLAGS_tls_cert),
                                     absl::GetFlag(FLAGS_tls_key),
                                     absl::GetFlag(FLAGS_tls_client_ca)));
  return options;
}

}  // namespace attnserve::server
