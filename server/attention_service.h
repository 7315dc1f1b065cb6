#ifndef ATTNSERVE_SERVER_ATTENTION_SERVICE_H_
#define ATTNSERVE_SERVER_ATTENTION_SERVICE_H_

#include "absl/status/status.h"
#include "attnserve/v1/attnserve.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/compute_worker.h"
#include "server/proto_convert.h"
#include "server/shutdown_gate.h"

namespace attnserve::server {

// attnserve.v1.AttentionService: converts and validates on the gRPC thread,
// computes on the compute worker, converts the result back. Calls pass
// `gate`: once it is closed they are answered UNAVAILABLE.
class AttentionServiceImpl final : public v1::AttentionService::Service {
 public:
  // `worker` and `gate` must outlive the service.
  AttentionServiceImpl(ComputeWorker* worker, ShutdownGate* gate,
                       const ConversionLimits& limits);

  grpc::Status Attend(grpc::ServerContext* context,
                      const v1::AttendRequest* request,
                      v1::AttendResponse* response) override;
  grpc::Status MultiHeadAttend(grpc::ServerContext* context,
                               const v1::MultiHeadAttendRequest* request,
                               v1::MultiHeadAttendResponse* response) override;

 private:
  ComputeWorker* const worker_;
  ShutdownGate* const gate_;
  const ConversionLimits limits_;
};

// The same code and message as a gRPC status.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_ATTENTION_SERVICE_H_
