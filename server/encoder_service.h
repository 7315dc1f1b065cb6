#ifndef ATTNSERVE_SERVER_ENCODER_SERVICE_H_
#define ATTNSERVE_SERVER_ENCODER_SERVICE_H_

#include "attnserve/v1/attnserve.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace attnserve::server {

// attnserve.v1.EncoderService. Model loading is not implemented yet, so every
// RPC answers UNIMPLEMENTED with a message saying so.
class EncoderServiceImpl final : public v1::EncoderService::Service {
 public:
  grpc::Status Encode(grpc::ServerContext* context,
                      const v1::EncodeRequest* request,
                      v1::EncodeResponse* response) override;
  grpc::Status EncodeStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::EncodeResponse, v1::EncodeRequest>* stream)
      override;
  grpc::Status Tokenize(grpc::ServerContext* context,
                        const v1::TokenizeRequest* request,
                        v1::TokenizeResponse* response) override;
  grpc::Status ListModels(grpc::ServerContext* context,
                          const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_ENCODER_SERVICE_H_
