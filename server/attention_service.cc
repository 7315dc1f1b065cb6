#include "server/attention_service.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "core/attention.h"

namespace attnserve::server {

AttentionServiceImpl::AttentionServiceImpl(ComputeWorker* worker,
                                           ShutdownGate* gate,
                                           const ConversionLimits& limits)
    : worker_(worker), gate_(gate), limits_(limits) {}

grpc::Status AttentionServiceImpl::Attend(grpc::ServerContext* context,
                                          const v1::AttendRequest* request,
                                          v1::AttendResponse* response) {
  const ShutdownGate::Entry entry = gate_->Enter();
  if (!entry.open()) {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        "the server is shutting down; retry on another replica");
  }
  absl::StatusOr<AttendCall> converted = AttendCallFromProto(*request, limits_);
  if (!converted.ok()) return ToGrpcStatus(converted.status());
  // Shared with the compute thread, which may outlive this call when the
  // client gives up.
  auto call = std::make_shared<const AttendCall>(*std::move(converted));
  auto outputs = std::make_shared<core::AttentionOutputs>();
  absl::Status status = worker_->Run(
      [call, outputs] {
        return core::Attend(call->spec, call->inputs, outputs.get());
      },
      absl::FromChrono(context->deadline()),
      [context] { return context->IsCancelled(); });
  if (!status.ok()) return ToGrpcStatus(status);
  AttendResponseFromOutputs(*outputs, call->single_head, response);
  return grpc::Status::OK;
}

grpc::Status AttentionServiceImpl::MultiHeadAttend(
    grpc::ServerContext*, const v1::MultiHeadAttendRequest*,
    v1::MultiHeadAttendResponse*) {
  return grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      "MultiHeadAttend needs a loaded model; not implemented yet");
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace attnserve::server
