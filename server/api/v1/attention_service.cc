#include "server/api/v1/attention_service.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/infer/attention_work.h"
#include "server/runtime/call_reactor.h"

namespace attnserve::server {
AttentionServiceImpl::AttentionServiceImpl(Scheduler* scheduler,
                                           const ModelRegistry* registry,
                                           ShutdownGate* gate,
                                           const ConversionLimits& limits)
    : scheduler_(scheduler),
      registry_(registry),
      gate_(gate),
      limits_(limits) {}

grpc::ServerUnaryReactor* AttentionServiceImpl::Attend(
    grpc::CallbackServerContext* context, const v1::AttendRequest* request,
    v1::AttendResponse* response) {
  auto* reactor = new ScheduledCallReactor(gate_);
  absl::StatusOr<AttendCall> call = AttendCallFromProto(*request, limits_);
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  auto work =
      std::make_shared<AttendWork>(*std::move(call), CallDeadline(*context));
  work->set_done([reactor, response, work](const absl::Status& status) {
    if (status.ok()) {
      AttendResponseFromOutputs(work->outputs, work->call().single_head,
                                response);
    }
    reactor->Finish(ToGrpcStatus(status));
  });
  reactor->Submit(scheduler_, std::move(work));
  return reactor;
}

grpc::ServerUnaryReactor* AttentionServiceImpl::MultiHeadAttend(
    grpc::CallbackServerContext* context,
    const v1::MultiHeadAttendRequest* request,
    v1::MultiHeadAttendResponse* response) {
  auto* reactor = new ScheduledCallReactor(gate_);
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      registry_->Lookup(request->model());
  if (!model.ok()) {
    reactor->Finish(ToGrpcStatus(model.status()));
    return reactor;
  }
  absl::StatusOr<core::MultiHeadAttendInputs> inputs =
      MultiHeadInputsFromProto(*request, limits_);
  if (!inputs.ok()) {
    reactor->Finish(ToGrpcStatus(inputs.status()));
    return reactor;
  }
  auto work = std::make_shared<MultiHeadAttendWork>(
      *std::move(model), *std::move(inputs), CallDeadline(*context));
  work->set_done([reactor, response, work](const absl::Status& status) {
    if (status.ok()) {
      TensorToProto(work->outputs.output, response->mutable_output());
      if (!work->outputs.weights.empty()) {
        TensorToProto(work->outputs.weights, response->mutable_weights());
      }
    }
    reactor->Finish(ToGrpcStatus(status));
  });
  reactor->Submit(scheduler_, std::move(work));
  return reactor;
}

}  // namespace attnserve::server
