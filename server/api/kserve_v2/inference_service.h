#ifndef ATTNSERVE_SERVER_API_KSERVE_V2_INFERENCE_SERVICE_H_
#define ATTNSERVE_SERVER_API_KSERVE_V2_INFERENCE_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "kserve/v2/grpc_predict_v2.grpc.pb.h"
#include "server/api/v1/proto_convert.h"
#include "server/runtime/model_registry.h"
#include "server/runtime/shutdown_gate.h"
#include "server/scheduling/scheduler.h"

namespace attnserve::server::kserve_v2 {

// inference.GRPCInferenceService (the Open Inference Protocol, KServe v2) on
// gRPC's callback API, a thin adapter like api/v1's services: ModelInfer
// converts the request (model_infer.h) to the protocol-neutral requests of
// server/infer/ and queues it on the same schedulers as attnserve.v1 (the
// model's, or the attention scheduler for model `attention`), so v2 and v1
// calls batch together; errors have attnserve.v1's codes. The metadata RPCs
// answer inline.
class InferenceServiceImpl final
    : public inference::GRPCInferenceService::CallbackService {
 public:
  // Everything must outlive the service; every model has its scheduler set.
  InferenceServiceImpl(Scheduler* attention_scheduler,
                       const ModelRegistry* registry, ShutdownGate* gate,
                       const ConversionLimits& limits);

  grpc::ServerUnaryReactor* ServerLive(
      grpc::CallbackServerContext* context,
      const inference::ServerLiveRequest* request,
      inference::ServerLiveResponse* response) override;
  // Not ready once the server drains.
  grpc::ServerUnaryReactor* ServerReady(
      grpc::CallbackServerContext* context,
      const inference::ServerReadyRequest* request,
      inference::ServerReadyResponse* response) override;
  // An unknown model (or version) is NOT_FOUND.
  grpc::ServerUnaryReactor* ModelReady(
      grpc::CallbackServerContext* context,
      const inference::ModelReadyRequest* request,
      inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(
      grpc::CallbackServerContext* context,
      const inference::ServerMetadataRequest* request,
      inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(
      grpc::CallbackServerContext* context,
      const inference::ModelMetadataRequest* request,
      inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(
      grpc::CallbackServerContext* context,
      const inference::ModelInferRequest* request,
      inference::ModelInferResponse* response) override;

 private:
  grpc::ServerUnaryReactor* InferAttention(
      grpc::CallbackServerContext* context,
      const inference::ModelInferRequest* request,
      inference::ModelInferResponse* response);

  Scheduler* const attention_scheduler_;
  const ModelRegistry* const registry_;
  ShutdownGate* const gate_;
  const ConversionLimits limits_;
};

}  // namespace attnserve::server::kserve_v2

#endif  // ATTNSERVE_SERVER_API_KSERVE_V2_INFERENCE_SERVICE_H_
