#ifndef ATTNSERVE_SERVER_SCHEDULING_SCHEDULER_H_
#define ATTNSERVE_SERVER_SCHEDULING_SCHEDULER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/scheduling/batch_former.h"
#include "server/scheduling/clock.h"

namespace attnserve::server {

// The dynamic batching scheduler of one model (or one named queue): a bounded
// queue of requests, the BatchFormer's token-budget batching policy, and
// dedicated compute worker threads. Model-agnostic: it sees sequence costs,
// never tensors; the caller's compute function packs a Batch however it likes.
//
// Life of a request:
//   Submit ──(rejected: done(INVALID_ARGUMENT | UNAVAILABLE | CANCELLED |
//   │         DEADLINE_EXCEEDED | RESOURCE_EXHAUSTED) before Submit returns)
//   ▼
//   queue ──(deadline passes / Cancel): done(DEADLINE_EXCEEDED | CANCELLED),
//   │        its queued sequences are dropped and never computed
//   ▼
//   batch(es) ── compute ──▶ done(OK) once all sequences are computed, or
//                             done(compute's error) on the first failing batch
//
// Threads: `num_workers` compute threads (each first runs `worker_init`, e.g.
// core::SetComputeThreads, then owns its cores) and one deadline thread that
// completes requests whose deadline passes while they wait, within a few ms of
// the deadline even when every worker is busy. Submit and Cancel never block
// on compute: they hold the scheduler's mutex for O(log n + the request's
// sequences) work.
//
// Queue delay (Triton's max_queue_delay): an idle worker that finds less than
// a full batch queued (by sequences or tokens) waits until the oldest queued
// sequence has waited max_queue_delay, or until a full batch is queued, then
// forms the batch. 0 takes whatever is queued at once (as TEI does). The
// remainder of a request split over several batches is never delayed again.
//
// Queue time budget (admission by expected wait, for latency under overload):
// with max_queue_time > 0 a request is refused (RESOURCE_EXHAUSTED, shed as
// "queue_time") when the work ahead of it — the queued tokens plus what is
// left of the batches computing now — is expected to take longer than
// max_queue_time, at the measured cost per token (a moving average over
// recent batches), shared by num_workers. Until a first batch has been computed
// there is no estimate and only max_queue_size applies. max_queue_size bounds
// memory; max_queue_time bounds how long accepted calls wait, so under a
// sustained overload accepted calls see about max_queue_time + their own batch.
//
// How the server uses it: server/api/v1/encoder_service.cc queues an
// EncodeWork (server/infer/encode_work.h) through a ScheduledCallReactor
// (server/runtime/call_reactor.h), whose OnCancel() cancels the work. The
// done callback may hold the request's shared_ptr: the scheduler moves the
// callback out of the request before running it, which breaks the cycle.
// Keep the scheduler alive until the gRPC server has shut down; then call
// Shutdown() to drain.
struct SchedulerOptions {
  std::string name = "default";      // model or queue name, used in messages
  int max_queue_size = 1024;         // queued sequences, >= 1
  int max_batch_size = 32;           // sequences per batch, >= 1
  int64_t max_batch_tokens = 16384;  // tokens per batch, >= 1
  absl::Duration max_queue_delay = absl::ZeroDuration();  // >= 0
  // Queue time budget, see above; 0 = none (only max_queue_size).
  absl::Duration max_queue_time = absl::ZeroDuration();  // >= 0
  // Fairness turn, see BatchFormer; 0 means max_batch_size.
  int max_sequences_per_turn = 0;
  int num_workers = 1;  // compute threads, >= 1
  // Shared by schedulers whose computes must not overlap (they share the
  // cores): held around each compute; the compute time (metrics, cost per
  // token) excludes the wait for it. Null: none. Must outlive the scheduler.
  std::mutex* compute_mutex = nullptr;
  // Runs first on each compute thread, with its index in [0, num_workers).
  std::function<void(int worker_index)> worker_init;
};

// Observability hooks (the server maps them to Prometheus metrics). Called
// from the scheduler's threads and from Submit/Cancel callers, concurrently:
// implementations must be thread-safe and cheap, and must not call back into
// the scheduler.
class SchedulerObserver {
 public:
  virtual ~SchedulerObserver() = default;
  // The number of queued (not yet batched) sequences changed. Called with the
  // scheduler's mutex held, so successive values arrive in order.
  virtual void OnQueueDepth(int64_t /*queued_sequences*/) {}
  // A batch is about to be computed; entries carry each sequence's queue
  // time, num_requests() / size() / total_tokens() the batch's shape.
  virtual void OnBatchFormed(const Batch& /*batch*/) {}
  virtual void OnBatchComputed(const Batch& /*batch*/,
                               absl::Duration /*compute_time*/,
                               const absl::Status& /*status*/) {}
  // A request was refused or dropped; `sequences` of it are never computed.
  virtual void OnShed(ShedReason /*reason*/, int64_t /*sequences*/) {}
};

// Computes every entry of the batch, writing results into the requests' own
// per-sequence slots. An error fails every request in the batch with it.
// With num_workers > 1 it runs concurrently on several workers.
using ComputeFn = std::function<absl::Status(const Batch& batch)>;

class Scheduler {
 public:
  // Validates `options` (INVALID_ARGUMENT naming the field) and starts the
  // threads. `observer` (may be null) and `clock` (null: RealClock()) must
  // outlive the scheduler.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(
      SchedulerOptions options, ComputeFn compute,
      SchedulerObserver* observer = nullptr, Clock* clock = nullptr);

  // Shutdown(), then frees. Must not run on a worker thread or inside a done
  // callback.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues `request` or rejects it. Either way its done callback runs exactly
  // once: rejections run it on this thread before Submit returns —
  // INVALID_ARGUMENT (no sequences, a negative token count),
  // UNAVAILABLE (shutting down), CANCELLED or DEADLINE_EXCEEDED (already),
  // RESOURCE_EXHAUSTED (its sequences do not fit in max_queue_size, or the
  // work ahead of it is expected to take longer than max_queue_time; nothing
  // of it is queued). A request larger than a batch is accepted and split.
  // Submitting a request a second time does nothing.
  void Submit(std::shared_ptr<ScheduledRequest> request);

  // Marks `request` (submitted to this scheduler) cancelled; if it has not
  // completed yet, drops its queued sequences and runs done(CANCELLED) on
  // this thread (done(DEADLINE_EXCEEDED), shed as a deadline, if its deadline
  // has passed: gRPC cancels calls at their deadline). Batches already
  // computing its other sequences finish, their results are discarded. Safe to
  // call at any time, repeatedly.
  void Cancel(ScheduledRequest& request);

  // Stops accepting (later Submits get UNAVAILABLE), computes everything
  // still queued, waits for in-flight batches and joins the threads.
  // Idempotent and thread-safe; not from a worker or a done callback.
  void Shutdown();

  int64_t queued_sequences() const;
  // The expected wait of a request submitted now (see max_queue_time), or
  // nullopt before the first batch has been computed.
  std::optional<absl::Duration> ExpectedQueueTime() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  // A done callback to run once the mutex is released.
  struct Outcome {
    ScheduledRequest::DoneCallback done;
    absl::Status status;
  };
  struct Shed {
    ShedReason reason;
    int64_t sequences;
  };
  struct Outcomes {
    std::vector<Outcome> completions;
    std::vector<Shed> sheds;
    std::vector<std::shared_ptr<ScheduledRequest>> keep_alive;
  };

  Scheduler(SchedulerOptions options, ComputeFn compute,
            SchedulerObserver* observer, Clock* clock);

  void WorkerLoop(int worker_index);
  void DeadlineLoop();
  // The following run with mu_ held.
  void Finish(ScheduledRequest& request, absl::Status status,
              Outcomes* outcomes);
  void Fail(ScheduledRequest& request, absl::Status status, ShedReason reason,
            int64_t dropped_sequences, Outcomes* outcomes);
  void ReportQueueDepth();
  std::optional<absl::Duration> ExpectedQueueTimeLocked(absl::Time now) const;
  // Folds a computed batch into the cost per token.
  void RecordBatchCost(int64_t tokens, absl::Duration compute_time);
  absl::Status DroppedStatus(ShedReason reason) const;
  // Runs without mu_ held.
  void Deliver(Outcomes& outcomes);
  void Reject(ScheduledRequest& request, absl::Status status,
              const ShedReason* reason);

  const SchedulerOptions options_;
  const ComputeFn compute_;
  SchedulerObserver* const observer_;
  Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;      // queue changed, or shutting down
  std::condition_variable deadline_cv_;  // earliest deadline changed, or stop
  BatchFormer former_;                   // guarded by mu_
  // Unfinished submitted requests with a finite deadline, by deadline.
  std::multimap<absl::Time, ScheduledRequest*> deadlines_;  // guarded by mu_
  bool shutting_down_ = false;                              // guarded by mu_
  bool stop_deadline_thread_ = false;                       // guarded by mu_
  // Per worker, the batch it computes now: when it was formed and its tokens
  // (0 when idle).
  struct InFlight {
    absl::Time start;
    int64_t tokens = 0;
  };
  std::vector<InFlight> in_flight_;  // guarded by mu_
  // Moving average of compute seconds per token; 0 until the first batch.
  double seconds_per_token_ = 0;  // guarded by mu_

  std::mutex join_mu_;  // serialises Shutdown's joins
  std::vector<std::thread> workers_;
  std::thread deadline_thread_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SCHEDULING_SCHEDULER_H_
