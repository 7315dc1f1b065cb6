#include "server/api/kserve_v2/inference_service.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/api/kserve_v2/model_infer.h"
#include "server/api/schedule_sequences.h"
#include "server/infer/attention_work.h"
#include "server/runtime/call_reactor.h"

#ifndef ATTNSERVE_VERSION
#error "ATTNSERVE_VERSION is defined by server/CMakeLists.txt"
#endif

namespace attnserve::server::kserve_v2 {
namespace {

// Every model has one version; empty means it.
absl::Status CheckVersion(absl::string_view model, absl::string_view version) {
  if (version.empty() || version == kModelVersion) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("model ", model, " has no version \"",
                                          version, "\"; its version is \"",
                                          kModelVersion, "\""));
}

grpc::ServerUnaryReactor* FinishInline(grpc::CallbackServerContext* context,
                                       const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

void AddTensors(const std::vector<TensorSpec>& specs,
                google::protobuf::RepeatedPtrField<
                    inference::ModelMetadataResponse::TensorMetadata>* out) {
  for (const TensorSpec& spec : specs) {
    auto* tensor = out->Add();
    tensor->set_name(std::string(spec.name));
    tensor->set_datatype(std::string(spec.datatype));
    tensor->mutable_shape()->Add(spec.shape.begin(), spec.shape.end());
  }
}

}  // namespace

InferenceServiceImpl::InferenceServiceImpl(Scheduler* attention_scheduler,
                                           const ModelRegistry* registry,
                                           ShutdownGate* gate,
                                           const ConversionLimits& limits)
    : attention_scheduler_(attention_scheduler),
      registry_(registry),
      gate_(gate),
      limits_(limits) {}

grpc::ServerUnaryReactor* InferenceServiceImpl::ServerLive(
    grpc::CallbackServerContext* context, const inference::ServerLiveRequest*,
    inference::ServerLiveResponse* response) {
  response->set_live(true);
  return FinishInline(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ServerReady(
    grpc::CallbackServerContext* context, const inference::ServerReadyRequest*,
    inference::ServerReadyResponse* response) {
  response->set_ready(!gate_->closed());
  return FinishInline(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ModelReady(
    grpc::CallbackServerContext* context,
    const inference::ModelReadyRequest* request,
    inference::ModelReadyResponse* response) {
  absl::Status found = CheckVersion(request->name(), request->version());
  if (found.ok() && request->name() != kAttentionModel) {
    found = registry_->Lookup(request->name()).status();
  }
  if (found.ok()) response->set_ready(!gate_->closed());
  return FinishInline(context, found);
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ServerMetadata(
    grpc::CallbackServerContext* context,
    const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  response->set_name("attnserve");
  response->set_version(ATTNSERVE_VERSION);
  return FinishInline(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ModelMetadata(
    grpc::CallbackServerContext* context,
    const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckVersion(request->name(), request->version()));
    ModelSignature signature;
    if (request->name() == kAttentionModel) {
      response->set_name(std::string(kAttentionModel));
      signature = AttentionSignature();
    } else {
      ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model,
                       registry_->Lookup(request->name()));
      response->set_name(model->name);
      signature = SignatureOf(*model);
    }
    response->add_versions(std::string(kModelVersion));
    response->set_platform("attnserve");
    AddTensors(signature.inputs, response->mutable_inputs());
    AddTensors(signature.outputs, response->mutable_outputs());
    return absl::OkStatus();
  }();
  return FinishInline(context, status);
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ModelInfer(
    grpc::CallbackServerContext* context,
    const inference::ModelInferRequest* request,
    inference::ModelInferResponse* response) {
  absl::Status version =
      CheckVersion(request->model_name(), request->model_version());
  if (!version.ok()) return FinishInline(context, version);
  if (request->model_name() == kAttentionModel) {
    return InferAttention(context, request, response);
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      registry_->Lookup(request->model_name());
  if (!model.ok()) return FinishInline(context, model.status());
  response->set_model_name((*model)->name);
  response->set_model_version(std::string(kModelVersion));
  response->set_id(request->id());
  absl::StatusOr<PreparedModelInfer> prepared =
      PrepareModelInfer(*request, *model);
  if (!prepared.ok()) return FinishInline(context, prepared.status());
  return ScheduleSequences(
      context, gate_, **model, std::move(prepared->sequences), "input text",
      [finish = std::move(prepared->finish), response](const EncodeWork& work) {
        return finish(work, response);
      });
}

grpc::ServerUnaryReactor* InferenceServiceImpl::InferAttention(
    grpc::CallbackServerContext* context,
    const inference::ModelInferRequest* request,
    inference::ModelInferResponse* response) {
  auto* reactor = new ScheduledCallReactor(gate_);
  absl::StatusOr<PreparedAttend> prepared = PrepareAttend(*request, limits_);
  if (!prepared.ok()) {
    reactor->Finish(ToGrpcStatus(prepared.status()));
    return reactor;
  }
  response->set_model_name(std::string(kAttentionModel));
  response->set_model_version(std::string(kModelVersion));
  response->set_id(request->id());
  auto shaping = std::make_shared<const PreparedAttend>(*std::move(prepared));
  auto work =
      std::make_shared<AttendWork>(shaping->call, CallDeadline(*context));
  work->set_done(
      [reactor, response, work, shaping](const absl::Status& status) {
        if (status.ok()) FillAttendOutputs(*shaping, work->outputs, response);
        reactor->Finish(ToGrpcStatus(status));
      });
  reactor->Submit(attention_scheduler_, std::move(work));
  return reactor;
}

}  // namespace attnserve::server::kserve_v2
