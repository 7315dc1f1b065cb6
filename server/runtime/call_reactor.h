#ifndef ATTNSERVE_SERVER_RUNTIME_CALL_REACTOR_H_
#define ATTNSERVE_SERVER_RUNTIME_CALL_REACTOR_H_

#include <chrono>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/runtime/shutdown_gate.h"
#include "server/scheduling/scheduler.h"

namespace attnserve::server {

// The same code and message as a gRPC status.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The context's default reactor, already finished with `status`: for a unary
// call that ends before any work is queued (e.g. an unknown model).
grpc::ServerUnaryReactor* FinishedReactor(grpc::CallbackServerContext* context,
                                          const absl::Status& status);

// The call's deadline as absl::Time (InfiniteFuture when it has none).
absl::Time CallDeadline(const grpc::CallbackServerContext& context);

// UNAVAILABLE for calls that arrive while the server drains.
absl::Status ShuttingDownError();

// The work a call has queued on a scheduler, cancellable from gRPC's
// OnCancel, which runs on another thread, possibly before the work is
// submitted: then Submit marks the work cancelled and the scheduler refuses it
// with CANCELLED. Neither method touches the call after Scheduler::Submit,
// whose done callback may already have finished the call.
class CancellableSubmission {
 public:
  void Submit(Scheduler* scheduler, std::shared_ptr<ScheduledRequest> work);
  void Cancel();

 private:
  std::mutex mu_;
  bool cancelled_ = false;                  // guarded by mu_
  Scheduler* scheduler_ = nullptr;          // guarded by mu_
  std::shared_ptr<ScheduledRequest> work_;  // guarded by mu_; the latest
};

// A unary callback call whose work runs on a Scheduler. It holds a
// ShutdownGate entry for the whole call (the drain waits for it); when the
// client cancels, its queued work is dropped.
//
//   auto* reactor = new ScheduledCallReactor(gate);
//   work->set_done([reactor, ...](const absl::Status& s) {
//     if (s.ok()) FillResponse(...);
//     reactor->Finish(ToGrpcStatus(s));
//   });
//   reactor->Submit(scheduler, work);
//   return reactor;
class ScheduledCallReactor : public grpc::ServerUnaryReactor {
 public:
  explicit ScheduledCallReactor(ShutdownGate* gate);

  // Submits `work`; its done callback must Finish() this reactor. Must be the
  // last use of the reactor by the caller (it may be gone when this returns).
  void Submit(Scheduler* scheduler, std::shared_ptr<ScheduledRequest> work) {
    submission_.Submit(scheduler, std::move(work));
  }

  void OnCancel() override { submission_.Cancel(); }
  void OnDone() override { delete this; }

 private:
  const ShutdownGate::Entry entry_;
  CancellableSubmission submission_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_RUNTIME_CALL_REACTOR_H_
