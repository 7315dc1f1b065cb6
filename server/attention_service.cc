#include "server/attention_service.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/attention_work.h"
#include "server/call_reactor.h"

namespace attnserve::server {
namespace {

// MultiHeadAttendRequest -> core inputs; the core checks shapes against the
// model (hidden size, layer, lengths) and values (NaN/Inf).
absl::StatusOr<core::MultiHeadAttendInputs> MultiHeadInputsFromProto(
    const v1::MultiHeadAttendRequest& request, const ConversionLimits& limits) {
  core::MultiHeadAttendInputs inputs;
  inputs.layer = request.layer();
  absl::StatusOr<core::Tensor> hidden =
      TensorFromProto(request.hidden(), "hidden", limits);
  if (!hidden.ok()) return hidden.status();
  inputs.hidden = hidden->To(core::DType::kFP32);
  if (request.has_context()) {
    absl::StatusOr<core::Tensor> context =
        TensorFromProto(request.context(), "context", limits);
    if (!context.ok()) return context.status();
    inputs.context = context->To(core::DType::kFP32);
  }
  absl::StatusOr<core::AttentionSpec> spec =
      SpecFromProto(request.spec(), "spec");
  if (!spec.ok()) return spec.status();
  inputs.spec = *std::move(spec);
  inputs.lengths.assign(request.lengths().begin(), request.lengths().end());
  inputs.return_weights = request.return_weights();
  return inputs;
}

}  // namespace

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
  if (!reactor->admitted()) return reactor;
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
  if (!reactor->admitted()) return reactor;
  std::shared_ptr<const ServedModel> model =
      registry_->FindShared(request->model());
  if (model == nullptr) {
    reactor->Finish(ToGrpcStatus(registry_->NotFoundError(request->model())));
    return reactor;
  }
  absl::StatusOr<core::MultiHeadAttendInputs> inputs =
      MultiHeadInputsFromProto(*request, limits_);
  if (!inputs.ok()) {
    reactor->Finish(ToGrpcStatus(inputs.status()));
    return reactor;
  }
  auto work = std::make_shared<MultiHeadAttendWork>(
      std::move(model), *std::move(inputs), CallDeadline(*context));
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
