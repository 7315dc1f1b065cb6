#include "client/client.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace attnserve {

std::string ClientServiceConfig(const ClientOptions& options) {
  std::string retry_policy;
  if (options.max_retries > 0) {
    // gRPC needs a positive backoff.
    const double backoff_s =
        std::max<int64_t>(options.initial_backoff.count(), 1) / 1e3;
    retry_policy = absl::StrCat(
        R"(, "retryPolicy": {"maxAttempts": )",
        std::min(options.max_retries, 4) + 1, R"(, "initialBackoff": ")",
        backoff_s, R"(s", "maxBackoff": ")", 16 * backoff_s,
        R"(s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]})");
  }
  return absl::StrCat(R"({"loadBalancingConfig": [{"round_robin": {}}], )",
                      R"("healthCheckConfig": {"serviceName": ""}, )",
                      R"("methodConfig": [{"name": [)",
                      R"({"service": "attnserve.v1.AttentionService"}, )",
                      R"({"service": "attnserve.v1.EncoderService"}, )",
                      R"({"service": "grpc.health.v1.Health"}])", retry_policy,
                      "}]}");
}

Client::Client(const ClientOptions& options) : options_(options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments args;
  if (options.use_tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.root_certs_pem;
    ssl.pem_cert_chain = options.client_cert_pem;
    ssl.pem_private_key = options.client_key_pem;
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  args.SetMaxReceiveMessageSize(
      options.max_message_bytes > 0 ? options.max_message_bytes : -1);
  args.SetMaxSendMessageSize(
      options.max_message_bytes > 0 ? options.max_message_bytes : -1);
  args.SetServiceConfigJSON(ClientServiceConfig(options));
  channel_ = grpc::CreateCustomChannel(options.address, credentials, args);
  args.SetInt(GRPC_ARG_INHIBIT_HEALTH_CHECKING, 1);
  health_channel_ =
      grpc::CreateCustomChannel(options.address, credentials, args);
  attention_ = v1::AttentionService::NewStub(channel_);
  encoder_ = v1::EncoderService::NewStub(channel_);
}

void Client::PrepareContext(grpc::ClientContext* context) const {
  if (options_.timeout.count() > 0) {
    context->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  }
}

grpc::Status Client::Encode(const v1::EncodeRequest& request,
                            v1::EncodeResponse* response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return encoder_->Encode(&context, request, response);
}

grpc::Status Client::Tokenize(const v1::TokenizeRequest& request,
                              v1::TokenizeResponse* response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return encoder_->Tokenize(&context, request, response);
}

grpc::Status Client::ListModels(v1::ListModelsResponse* response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return encoder_->ListModels(&context, v1::ListModelsRequest(), response);
}

grpc::Status Client::Rerank(const v1::RerankRequest& request,
                            v1::RerankResponse* response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return encoder_->Rerank(&context, request, response);
}

grpc::Status Client::Classify(const v1::ClassifyRequest& request,
                              v1::ClassifyResponse* response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return encoder_->Classify(&context, request, response);
}

grpc::Status Client::Detokenize(const v1::DetokenizeRequest& request,
                                v1::DetokenizeResponse* response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return encoder_->Detokenize(&context, request, response);
}

grpc::Status Client::Attend(const v1::AttendRequest& request,
                            v1::AttendResponse* response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return attention_->Attend(&context, request, response);
}

grpc::Status Client::MultiHeadAttend(const v1::MultiHeadAttendRequest& request,
                                     v1::MultiHeadAttendResponse* response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return attention_->MultiHeadAttend(&context, request, response);
}

grpc::Status Client::EncodeStream(
    const std::vector<v1::EncodeRequest>& requests,
    const std::function<void(const v1::EncodeResponse&)>& on_response) {
  grpc::ClientContext context;
  PrepareContext(&context);
  auto stream = encoder_->EncodeStream(&context);
  // Write and read in lock step: the server answers each request in order, so
  // at most one response is ever buffered.
  for (const v1::EncodeRequest& request : requests) {
    if (!stream->Write(request)) break;
    v1::EncodeResponse response;
    if (!stream->Read(&response)) break;
    on_response(response);
  }
  stream->WritesDone();
  return stream->Finish();
}

grpc::Status Client::Health(const std::string& service, bool* serving) {
  auto stub = grpc::health::v1::Health::NewStub(health_channel_);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  PrepareContext(&context);
  grpc::Status status = stub->Check(&context, request, &response);
  *serving = status.ok() && response.status() ==
                                grpc::health::v1::HealthCheckResponse::SERVING;
  return status;
}

}  // namespace attnserve
