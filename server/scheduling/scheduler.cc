#include "server/scheduling/scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace attnserve::server {

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(
    SchedulerOptions options, ComputeFn compute, SchedulerObserver* observer,
    Clock* clock) {
  auto at_least_one = [](const char* field, int64_t value) -> absl::Status {
    if (value >= 1) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", value, ", expected >= 1"));
  };
  for (absl::Status status :
       {at_least_one("max_queue_size", options.max_queue_size),
        at_least_one("max_batch_size", options.max_batch_size),
        at_least_one("max_batch_tokens", options.max_batch_tokens),
        at_least_one("num_workers", options.num_workers)}) {
    if (!status.ok()) return status;
  }
  if (options.max_queue_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_queue_delay is ", absl::FormatDuration(options.max_queue_delay),
        ", expected >= 0"));
  }
  if (options.max_queue_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_queue_time is ", absl::FormatDuration(options.max_queue_time),
        ", expected >= 0 (0 = no queue time budget)"));
  }
  if (options.max_sequences_per_turn < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_sequences_per_turn is ", options.max_sequences_per_turn,
        ", expected >= 0 (0 = max_batch_size)"));
  }
  if (!compute) return absl::InvalidArgumentError("compute is empty");
  return std::unique_ptr<Scheduler>(
      new Scheduler(std::move(options), std::move(compute), observer,
                    clock != nullptr ? clock : &RealClock()));
}

Scheduler::Scheduler(SchedulerOptions options, ComputeFn compute,
                     SchedulerObserver* observer, Clock* clock)
    : options_(std::move(options)),
      compute_(std::move(compute)),
      observer_(observer),
      clock_(*clock),
      former_(BatchLimits{options_.max_batch_size, options_.max_batch_tokens,
                          options_.max_sequences_per_turn}) {
  in_flight_.resize(options_.num_workers);
  workers_.reserve(options_.num_workers);
  for (int i = 0; i < options_.num_workers; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
  deadline_thread_ = std::thread([this] { DeadlineLoop(); });
}

Scheduler::~Scheduler() { Shutdown(); }

void Scheduler::Shutdown() {
  std::lock_guard<std::mutex> join_lock(join_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_deadline_thread_ = true;
  }
  deadline_cv_.notify_all();
  if (deadline_thread_.joinable()) deadline_thread_.join();
}

int64_t Scheduler::queued_sequences() const {
  std::lock_guard<std::mutex> lock(mu_);
  return former_.queued_sequences();
}

std::optional<absl::Duration> Scheduler::ExpectedQueueTime() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ExpectedQueueTimeLocked(clock_.Now());
}

std::optional<absl::Duration> Scheduler::ExpectedQueueTimeLocked(
    absl::Time now) const {
  if (seconds_per_token_ <= 0) return std::nullopt;
  double seconds =
      static_cast<double>(former_.queued_tokens()) * seconds_per_token_;
  for (const InFlight& batch : in_flight_) {
    if (batch.tokens == 0) continue;
    seconds +=
        std::max(0.0, static_cast<double>(batch.tokens) * seconds_per_token_ -
                          absl::ToDoubleSeconds(now - batch.start));
  }
  return absl::Seconds(seconds / options_.num_workers);
}

void Scheduler::RecordBatchCost(int64_t tokens, absl::Duration compute_time) {
  // Recent batches dominate: the cost per token moves with batch sizes and
  // with whatever else shares the cores.
  constexpr double kWeight = 0.2;
  const double sample = absl::ToDoubleSeconds(compute_time) /
                        static_cast<double>(std::max<int64_t>(tokens, 1));
  seconds_per_token_ =
      seconds_per_token_ <= 0
          ? sample
          : (1 - kWeight) * seconds_per_token_ + kWeight * sample;
}

void Scheduler::Reject(ScheduledRequest& request, absl::Status status,
                       const ShedReason* reason) {
  if (reason != nullptr && observer_ != nullptr) {
    observer_->OnShed(*reason, request.num_sequences());
  }
  ScheduledRequest::DoneCallback done = std::move(request.done_);
  if (done) done(status);
}

void Scheduler::Submit(std::shared_ptr<ScheduledRequest> request) {
  if (request == nullptr) return;
  ScheduledRequest& r = *request;
  if (r.num_sequences() == 0) {
    Reject(r, absl::InvalidArgumentError("request has no sequences"), nullptr);
    return;
  }
  for (int i = 0; i < r.num_sequences(); ++i) {
    if (r.sequence_tokens(i) < 0) {
      Reject(r,
             absl::InvalidArgumentError(
                 absl::StrCat("sequence_tokens[", i, "] is ",
                              r.sequence_tokens(i), ", expected >= 0")),
             nullptr);
      return;
    }
  }
  ShedReason reason;
  absl::Status rejection;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    if (r.owner_ != nullptr) {
      // Its callback belongs to the first submission: do not run it here.
      return;
    }
    if (shutting_down_) {
      reason = ShedReason::kShutdown;
      rejection = absl::UnavailableError(
          absl::StrCat("scheduler '", options_.name, "' is shutting down"));
    } else if (r.deadline() <= now) {  // even if also cancelled, see Cancel
      reason = ShedReason::kDeadline;
      rejection = DroppedStatus(reason);
    } else if (r.cancelled()) {
      reason = ShedReason::kCancelled;
      rejection = DroppedStatus(reason);
    } else if (former_.queued_sequences() + r.num_sequences() >
               options_.max_queue_size) {
      reason = ShedReason::kQueueFull;
      rejection = absl::ResourceExhaustedError(absl::StrCat(
          "queue of '", options_.name, "' is full: the request has ",
          r.num_sequences(), " sequences, ", former_.queued_sequences(),
          " are queued and max_queue_size is ", options_.max_queue_size));
    } else if (const std::optional<absl::Duration> wait =
                   ExpectedQueueTimeLocked(now);
               options_.max_queue_time > absl::ZeroDuration() &&
               wait.has_value() && *wait > options_.max_queue_time) {
      reason = ShedReason::kQueueTime;
      rejection = absl::ResourceExhaustedError(absl::StrCat(
          "queue of '", options_.name, "' holds about ",
          absl::ToInt64Milliseconds(*wait), " ms of work, over max_queue_time ",
          absl::FormatDuration(options_.max_queue_time), "; retry later"));
    } else {
      r.owner_ = this;
      if (r.deadline() != absl::InfiniteFuture()) {
        r.deadline_position_ = deadlines_.emplace(r.deadline(), &r);
        r.has_deadline_position_ = true;
        if (r.deadline_position_ == deadlines_.begin()) {
          deadline_cv_.notify_one();
        }
      }
      former_.Enqueue(std::move(request), now);
      ReportQueueDepth();
      work_cv_.notify_one();
      return;
    }
  }
  Reject(r, std::move(rejection), &reason);
}

void Scheduler::Cancel(ScheduledRequest& request) {
  request.MarkCancelled();
  Outcomes outcomes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (request.owner_ != this || request.finished_) return;
    // gRPC cancels a call when its deadline passes, often before the deadline
    // thread gets to it: that is an expiry, not the client's cancellation.
    const ShedReason reason = request.deadline() <= clock_.Now()
                                  ? ShedReason::kDeadline
                                  : ShedReason::kCancelled;
    const int64_t dropped = former_.Remove(request);
    if (dropped > 0) ReportQueueDepth();
    Fail(request, DroppedStatus(reason), reason, dropped, &outcomes);
  }
  Deliver(outcomes);
}

absl::Status Scheduler::DroppedStatus(ShedReason reason) const {
  if (reason == ShedReason::kCancelled) {
    return absl::CancelledError("the request was cancelled");
  }
  return absl::DeadlineExceededError(
      absl::StrCat("the request's deadline passed before '", options_.name,
                   "' computed it"));
}

void Scheduler::ReportQueueDepth() {
  if (observer_ != nullptr) observer_->OnQueueDepth(former_.queued_sequences());
}

void Scheduler::Finish(ScheduledRequest& request, absl::Status status,
                       Outcomes* outcomes) {
  request.finished_ = true;
  if (request.has_deadline_position_) {
    deadlines_.erase(request.deadline_position_);
    request.has_deadline_position_ = false;
  }
  outcomes->completions.push_back(
      {std::move(request.done_), std::move(status)});
}

void Scheduler::Fail(ScheduledRequest& request, absl::Status status,
                     ShedReason reason, int64_t dropped_sequences,
                     Outcomes* outcomes) {
  outcomes->sheds.push_back({reason, dropped_sequences});
  Finish(request, std::move(status), outcomes);
}

void Scheduler::Deliver(Outcomes& outcomes) {
  if (observer_ != nullptr) {
    for (const Shed& shed : outcomes.sheds) {
      observer_->OnShed(shed.reason, shed.sequences);
    }
  }
  for (Outcome& outcome : outcomes.completions) {
    if (outcome.done) outcome.done(outcome.status);
  }
  outcomes.sheds.clear();
  outcomes.completions.clear();
  outcomes.keep_alive.clear();
}

void Scheduler::WorkerLoop(int worker_index) {
  if (options_.worker_init) options_.worker_init(worker_index);
  Outcomes outcomes;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (former_.empty()) {
      if (shutting_down_) break;
      clock_.WaitUntil(work_cv_, lock, absl::InfiniteFuture());
      continue;
    }
    const absl::Time now = clock_.Now();
    if (!shutting_down_ && options_.max_queue_delay > absl::ZeroDuration() &&
        !former_.HasFullBatch()) {
      const absl::Time ready =
          former_.OldestEnqueueTime() + options_.max_queue_delay;
      if (now < ready) {
        clock_.WaitUntil(work_cv_, lock, ready);
        continue;
      }
    }
    Batch batch;
    std::vector<DroppedRequest> dropped;
    former_.FormBatch(now, &batch, &dropped);
    for (DroppedRequest& d : dropped) {
      Fail(*d.request, DroppedStatus(d.reason), d.reason, d.dropped_sequences,
           &outcomes);
    }
    ReportQueueDepth();
    in_flight_[worker_index] = {now, batch.total_tokens()};
    // Another idle worker can start on what is left.
    if (!former_.empty()) work_cv_.notify_one();
    lock.unlock();
    dropped.clear();
    Deliver(outcomes);
    if (!batch.empty()) {
      if (observer_ != nullptr) observer_->OnBatchFormed(batch);
      std::unique_lock<std::mutex> compute_lock;
      if (options_.compute_mutex != nullptr) {
        compute_lock = std::unique_lock<std::mutex>(*options_.compute_mutex);
      }
      // While this worker waited for the compute mutex, the deadline thread
      // or Cancel may have finished every request of the batch: then there is
      // nothing left to compute for it.
      lock.lock();
      const bool abandoned =
          std::all_of(batch.requests().begin(), batch.requests().end(),
                      [](const std::shared_ptr<ScheduledRequest>& r) {
                        return r->finished_;
                      });
      if (abandoned) in_flight_[worker_index] = {};
      lock.unlock();
      if (abandoned) {
        batch = Batch();
        lock.lock();
        continue;
      }
      const absl::Time start = clock_.Now();
      const absl::Status status = compute_(batch);
      const absl::Time end = clock_.Now();
      if (compute_lock.owns_lock()) compute_lock.unlock();
      if (observer_ != nullptr) {
        observer_->OnBatchComputed(batch, end - start, status);
      }
      lock.lock();
      in_flight_[worker_index] = {};
      if (status.ok()) {
        RecordBatchCost(batch.total_tokens(), end - start);
        for (const BatchEntry& entry : batch.entries()) {
          ++entry.request->sequences_computed_;
        }
      }
      for (const std::shared_ptr<ScheduledRequest>& request :
           batch.requests()) {
        ScheduledRequest& r = *request;
        if (r.finished_) continue;
        if (!status.ok()) {
          const int64_t dropped_sequences = former_.Remove(r);
          if (dropped_sequences > 0) ReportQueueDepth();
          Finish(r, status, &outcomes);
        } else if (r.sequences_computed_ == r.num_sequences()) {
          Finish(r,
                 r.deadline() < end ? DroppedStatus(ShedReason::kDeadline)
                                    : absl::OkStatus(),
                 &outcomes);
        }
      }
      lock.unlock();
      Deliver(outcomes);
    }
    // Release the batch's references before waiting again.
    batch = Batch();
    lock.lock();
  }
}

void Scheduler::DeadlineLoop() {
  Outcomes outcomes;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_deadline_thread_) {
    const absl::Time now = clock_.Now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      ScheduledRequest& r = *deadlines_.begin()->second;
      // A queued request may be owned by the queue alone: keep it alive
      // until the lock is released.
      if (r.queued_) outcomes.keep_alive.push_back(*r.queue_position_);
      const int64_t dropped = former_.Remove(r);
      if (dropped > 0) ReportQueueDepth();
      Fail(r, DroppedStatus(ShedReason::kDeadline), ShedReason::kDeadline,
           dropped, &outcomes);
    }
    if (!outcomes.completions.empty() || !outcomes.keep_alive.empty()) {
      lock.unlock();
      Deliver(outcomes);
      lock.lock();
      continue;
    }
    clock_.WaitUntil(deadline_cv_, lock,
                     deadlines_.empty() ? absl::InfiniteFuture()
                                        : deadlines_.begin()->first);
  }
}

}  // namespace attnserve::server
