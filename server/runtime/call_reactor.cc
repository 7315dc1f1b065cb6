#include "server/runtime/call_reactor.h"

#include <string>

namespace attnserve::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::ServerUnaryReactor* FinishedReactor(grpc::CallbackServerContext* context,
                                          const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

absl::Time CallDeadline(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  return deadline == std::chrono::system_clock::time_point::max()
             ? absl::InfiniteFuture()
             : absl::FromChrono(deadline);
}

absl::Status ShuttingDownError() {
  return absl::UnavailableError(
      "the server is shutting down; retry on another replica");
}

ScheduledCallReactor::ScheduledCallReactor(ShutdownGate* gate)
    : entry_(gate->EnterCall()) {}

void CancellableSubmission::Submit(Scheduler* scheduler,
                                   std::shared_ptr<ScheduledRequest> work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    scheduler_ = scheduler;
    work_ = work;
    if (cancelled_) work->MarkCancelled();
  }
  scheduler->Submit(std::move(work));
}

void CancellableSubmission::Cancel() {
  Scheduler* scheduler;
  std::shared_ptr<ScheduledRequest> work;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    scheduler = scheduler_;
    work = work_;
  }
  if (scheduler != nullptr) scheduler->Cancel(*work);
}

}  // namespace attnserve::server
