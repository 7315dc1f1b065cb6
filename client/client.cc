#include "client/client.h"

#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

namespace attnserve {

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
  channel_ = grpc::CreateCustomChannel(options.address, credentials, args);
  attention_ = v1::AttentionService::NewStub(channel_);
  encoder_ = v1::EncoderService::NewStub(channel_);
}

void Client::PrepareContext(grpc::ClientContext* context) const {
  if (options_.timeout.count() > 0) {
    context->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  }
}

grpc::Status Client::WithRetries(
    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  std::chrono::milliseconds backoff = options_.initial_backoff;
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext context;
    PrepareContext(&context);
    grpc::Status status = call(&context);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        attempt >= options_.max_retries) {
      return status;
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

grpc::Status Client::Encode(const v1::EncodeRequest& request,
                            v1::EncodeResponse* response) {
  return WithRetries([&](grpc::ClientContext* c) {
    return encoder_->Encode(c, request, response);
  });
}

grpc::Status Client::Tokenize(const v1::TokenizeRequest& request,
                              v1::TokenizeResponse* response) {
  return WithRetries([&](grpc::ClientContext* c) {
    return encoder_->Tokenize(c, request, response);
  });
}

grpc::Status Client::ListModels(v1::ListModelsResponse* response) {
  return WithRetries([&](grpc::ClientContext* c) {
    return encoder_->ListModels(c, v1::ListModelsRequest(), response);
  });
}

grpc::Status Client::Rerank(const v1::RerankRequest& request,
                            v1::RerankResponse* response) {
  return WithRetries([&](grpc::ClientContext* c) {
    return encoder_->Rerank(c, request, response);
  });
}

grpc::Status Client::Classify(const v1::ClassifyRequest& request,
                              v1::ClassifyResponse* response) {
  return WithRetries([&](grpc::ClientContext* c) {
    return encoder_->Classify(c, request, response);
  });
}

grpc::Status Client::Detokenize(const v1::DetokenizeRequest& request,
                                v1::DetokenizeResponse* response) {
  return WithRetries([&](grpc::ClientContext* c) {
    return encoder_->Detokenize(c, request, response);
  });
}

grpc::Status Client::Attend(const v1::AttendRequest& request,
                            v1::AttendResponse* response) {
  return WithRetries([&](grpc::ClientContext* c) {
    return attention_->Attend(c, request, response);
  });
}

grpc::Status Client::MultiHeadAttend(const v1::MultiHeadAttendRequest& request,
                                     v1::MultiHeadAttendResponse* response) {
  return WithRetries([&](grpc::ClientContext* c) {
    return attention_->MultiHeadAttend(c, request, response);
  });
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
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = WithRetries([&](grpc::ClientContext* c) {
    return stub->Check(c, request, &response);
  });
  *serving = status.ok() && response.status() ==
                                grpc::health::v1::HealthCheckResponse::SERVING;
  return status;
}

}  // namespace attnserve
