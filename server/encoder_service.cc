#include "server/encoder_service.h"

#include <string>

namespace attnserve::server {
namespace {

grpc::Status NotImplemented(const std::string& method) {
  return grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      method + " needs a loaded model; model loading is not implemented yet");
}

}  // namespace

grpc::Status EncoderServiceImpl::Encode(grpc::ServerContext*,
                                        const v1::EncodeRequest*,
                                        v1::EncodeResponse*) {
  return NotImplemented("Encode");
}

grpc::Status EncoderServiceImpl::EncodeStream(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<v1::EncodeResponse, v1::EncodeRequest>*) {
  return NotImplemented("EncodeStream");
}

grpc::Status EncoderServiceImpl::Tokenize(grpc::ServerContext*,
                                          const v1::TokenizeRequest*,
                                          v1::TokenizeResponse*) {
  return NotImplemented("Tokenize");
}

grpc::Status EncoderServiceImpl::ListModels(grpc::ServerContext*,
                                            const v1::ListModelsRequest*,
                                            v1::ListModelsResponse*) {
  return NotImplemented("ListModels");
}

}  // namespace attnserve::server
