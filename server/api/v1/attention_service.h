#ifndef ATTNSERVE_SERVER_API_V1_ATTENTION_SERVICE_H_
#define ATTNSERVE_SERVER_API_V1_ATTENTION_SERVICE_H_

#include "attnserve/v1/attnserve.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/api/v1/proto_convert.h"
#include "server/runtime/model_registry.h"
#include "server/runtime/shutdown_gate.h"
#include "server/scheduling/scheduler.h"

namespace attnserve::server {

// attnserve.v1.AttentionService on gRPC's callback API: converts and
// validates on the gRPC thread, queues the call on the attention scheduler
// (calls of equal shape and spec are computed together), replies from the
// compute worker when it is done.
class AttentionServiceImpl final
    : public v1::AttentionService::CallbackService {
 public:
  // Everything must outlive the service. `registry` serves MultiHeadAttend.
  AttentionServiceImpl(Scheduler* scheduler, const ModelRegistry* registry,
                       ShutdownGate* gate, const ConversionLimits& limits);

  grpc::ServerUnaryReactor* Attend(grpc::CallbackServerContext* context,
                                   const v1::AttendRequest* request,
                                   v1::AttendResponse* response) override;
  grpc::ServerUnaryReactor* MultiHeadAttend(
      grpc::CallbackServerContext* context,
      const v1::MultiHeadAttendRequest* request,
      v1::MultiHeadAttendResponse* response) override;

 private:
  Scheduler* const scheduler_;
  const ModelRegistry* const registry_;
  ShutdownGate* const gate_;
  const ConversionLimits limits_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_API_V1_ATTENTION_SERVICE_H_
