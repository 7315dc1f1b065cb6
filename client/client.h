#ifndef ATTNSERVE_CLIENT_CLIENT_H_
#define ATTNSERVE_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attnserve/v1/attnserve.grpc.pb.h"

namespace attnserve {

// How to reach attnserve: one server or several replicas.
struct ClientOptions {
  // A gRPC target: "host:port", "dns:///attnserve-headless:50051" (every
  // address the name resolves to) or "ipv4:10.0.0.1:50051,10.0.0.2:50051".
  // Calls are spread over the addresses with gRPC's round_robin policy,
  // skipping replicas whose grpc.health.v1 status is not SERVING.
  std::string address = "127.0.0.1:50051";
  // TLS: set use_tls; root_certs_pem verifies the server (empty: system roots);
  // client_cert_pem + client_key_pem for mTLS.
  bool use_tls = false;
  std::string root_certs_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  // Overrides the name checked against the server certificate (for tests).
  std::string tls_server_name;
  // Per-call deadline; zero = none.
  std::chrono::milliseconds timeout{30000};
  // Retries of calls that fail with UNAVAILABLE, by gRPC's retry policy
  // (service config): exponential backoff from initial_backoff, jittered;
  // at most 4 (gRPC allows 5 attempts). The per-call deadline covers them all.
  int max_retries = 3;
  std::chrono::milliseconds initial_backoff{50};
  // 0 = unlimited (the server enforces its own --max_message_bytes).
  int max_message_bytes = 0;
};

// The gRPC service config of attnserve's clients: round_robin over the
// target's addresses, client-side health checking (grpc.health.v1, the whole
// server), and the retry policy on UNAVAILABLE of `options`. attnbench uses it
// too.
std::string ClientServiceConfig(const ClientOptions& options);

// A thin, thread-safe client for attnserve's AttentionService, EncoderService
// and grpc.health.v1. Unary calls are retried on UNAVAILABLE.
class Client {
 public:
  explicit Client(const ClientOptions& options);

  grpc::Status Encode(const v1::EncodeRequest& request,
                      v1::EncodeResponse* response);
  grpc::Status Tokenize(const v1::TokenizeRequest& request,
                        v1::TokenizeResponse* response);
  grpc::Status ListModels(v1::ListModelsResponse* response);
  grpc::Status Rerank(const v1::RerankRequest& request,
                      v1::RerankResponse* response);
  grpc::Status Classify(const v1::ClassifyRequest& request,
                        v1::ClassifyResponse* response);
  grpc::Status Detokenize(const v1::DetokenizeRequest& request,
                          v1::DetokenizeResponse* response);
  grpc::Status Attend(const v1::AttendRequest& request,
                      v1::AttendResponse* response);
  grpc::Status MultiHeadAttend(const v1::MultiHeadAttendRequest& request,
                               v1::MultiHeadAttendResponse* response);
  // Sends every request on one EncodeStream and calls on_response for each
  // response, in order. Retried (by gRPC) only before the first response.
  grpc::Status EncodeStream(
      const std::vector<v1::EncodeRequest>& requests,
      const std::function<void(const v1::EncodeResponse&)>& on_response);
  // grpc.health.v1 Check for `service` ("" = the whole server); `serving` is
  // true when the status is SERVING. Asks one of the target's servers, over a
  // channel without health checking (so that NOT_SERVING can be seen).
  grpc::Status Health(const std::string& service, bool* serving);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  void PrepareContext(grpc::ClientContext* context) const;

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::Channel> health_channel_;
  std::unique_ptr<v1::AttentionService::Stub> attention_;
  std::unique_ptr<v1::EncoderService::Stub> encoder_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CLIENT_CLIENT_H_
