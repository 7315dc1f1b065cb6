#ifndef ATTNSERVE_SERVER_CALL_REACTOR_H_
#define ATTNSERVE_SERVER_CALL_REACTOR_H_

#include <chrono>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/scheduler.h"
#include "server/shutdown_gate.h"

namespace attnserve::server {

// The same code and message as a gRPC status.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The call's deadline as absl::Time (InfiniteFuture when it has none).
absl::Time CallDeadline(const grpc::CallbackServerContext& context);

// UNAVAILABLE for calls that arrive while the server drains.
absl::Status ShuttingDownError();

// A unary callback call whose work runs on a Scheduler. It holds a
// ShutdownGate entry for the whole call, so the server drains it before
// stopping; when the client cancels, its queued work is dropped.
//
//   auto* reactor = new ScheduledCallReactor(gate);
//   if (!reactor->admitted()) return reactor;        // finished UNAVAILABLE
//   work->set_done([reactor, ...](const absl::Status& s) {
//     if (s.ok()) FillResponse(...);
//     reactor->Finish(ToGrpcStatus(s));
//   });
//   reactor->Submit(scheduler, work);
//   return reactor;
class ScheduledCallReactor : public grpc::ServerUnaryReactor {
 public:
  explicit ScheduledCallReactor(ShutdownGate* gate);

  bool admitted() const { return entry_.open(); }
  // Submits `work`; its done callback must Finish() this reactor. Must be the
  // last use of the reactor by the caller (it may be gone when this returns).
  void Submit(Scheduler* scheduler, std::shared_ptr<ScheduledRequest> work);

  void OnCancel() override;
  void OnDone() override { delete this; }

 private:
  bool IsCancelledBeforeSubmit();

  const ShutdownGate::Entry entry_;
  std::mutex mu_;  // OnCancel runs on a gRPC thread, concurrently with Submit
  Scheduler* scheduler_ = nullptr;            // guarded by mu_
  std::shared_ptr<ScheduledRequest> work_;  // guarded by mu_
  bool cancelled_ = false;                    // guarded by mu_
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_CALL_REACTOR_H_
