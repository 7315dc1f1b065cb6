#ifndef ATTNSERVE_SERVER_API_V1_ENCODER_SERVICE_H_
#define ATTNSERVE_SERVER_API_V1_ENCODER_SERVICE_H_

#include "attnserve/v1/attnserve.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/runtime/model_registry.h"
#include "server/runtime/shutdown_gate.h"

namespace attnserve::server {

// attnserve.v1.EncoderService on gRPC's callback API. Encode and
// EncodeStream validate and tokenize on the gRPC thread and queue the
// sequences on the model's batching scheduler (Rerank and Classify too);
// Tokenize, Detokenize and
// ListModels answer inline. EncodeStream is registered raw (bytes in, bytes
// out) so that it can tell a message that does not parse from the end of the
// stream: gRPC's typed reactor reports both as OnReadDone(false).
class EncoderServiceImpl final
    : public v1::EncoderService::WithCallbackMethod_Encode<
          v1::EncoderService::WithRawCallbackMethod_EncodeStream<
              v1::EncoderService::WithCallbackMethod_Tokenize<
                  v1::EncoderService::WithCallbackMethod_ListModels<
                      v1::EncoderService::WithCallbackMethod_Detokenize<
                          v1::EncoderService::WithCallbackMethod_Rerank<
                              v1::EncoderService::WithCallbackMethod_Classify<
                                  v1::EncoderService::Service>>>>>>> {
 public:
  // Both must outlive the service; every model has its scheduler set.
  EncoderServiceImpl(const ModelRegistry* registry, ShutdownGate* gate);

  grpc::ServerUnaryReactor* Encode(grpc::CallbackServerContext* context,
                                   const v1::EncodeRequest* request,
                                   v1::EncodeResponse* response) override;
  // One response per request, in order. Pipelined: requests are read and
  // queued while earlier ones compute, up to 64 requests (and ~64 MiB of
  // responses) in flight per stream, so a stream's requests batch together;
  // past that the stream stops reading until answers are written. An invalid
  // request, or a message that is not an EncodeRequest, ends the stream with
  // its error status after the answers before it.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EncodeStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const v1::ListModelsRequest* request,
      v1::ListModelsResponse* response) override;
  // Rerank and Classify: the pairs (or texts) of a call are tokenized on the
  // gRPC thread and batch with other calls on the model's scheduler like
  // Encode's sequences; the classifier head runs on the results.
  grpc::ServerUnaryReactor* Rerank(grpc::CallbackServerContext* context,
                                   const v1::RerankRequest* request,
                                   v1::RerankResponse* response) override;
  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* context,
                                     const v1::ClassifyRequest* request,
                                     v1::ClassifyResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(
      grpc::CallbackServerContext* context,
      const v1::DetokenizeRequest* request,
      v1::DetokenizeResponse* response) override;

 private:
  const ModelRegistry* const registry_;
  ShutdownGate* const gate_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_API_V1_ENCODER_SERVICE_H_
