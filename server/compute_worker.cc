#include "server/compute_worker.h"

#include <algorithm>
#include <exception>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/parallel.h"

namespace attnserve::server {

// One submission. Shared by the waiting caller and the compute thread, so
// either may go away first.
struct ComputeWorker::Task {
  std::function<absl::Status()> work;
  absl::Time deadline;
  absl::Time enqueued;
  std::mutex mu;
  std::condition_variable finished;
  bool abandoned = false;  // the caller stopped waiting; guarded by mu
  bool done = false;       // guarded by mu
  absl::Status status;     // guarded by mu
};

ComputeWorker::ComputeWorker(const Options& options, Metrics* metrics)
    : options_(options), metrics_(metrics) {
  if (metrics_ != nullptr) metrics_->QueueDepth(options_.model).Set(0);
  thread_ = std::thread([this] { Loop(); });
}

ComputeWorker::~ComputeWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::shared_ptr<Task>& task : queue_) {
    std::lock_guard<std::mutex> task_lock(task->mu);
    task->status = absl::UnavailableError("the server is shutting down");
    task->done = true;
    task->finished.notify_all();
  }
  queue_.clear();
}

absl::Status ComputeWorker::Run(std::function<absl::Status()> work,
                                absl::Time deadline,
                                const std::function<bool()>& cancelled) {
  auto task = std::make_shared<Task>();
  task->work = std::move(work);
  task->deadline = deadline;
  task->enqueued = absl::Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the server is shutting down");
    if (queue_.size() >= options_.max_queue_size) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "queue full: ", queue_.size(), " requests are waiting for model '",
          options_.model, "' (--max_queue_size ", options_.max_queue_size,
          "); retry later"));
    }
    queue_.push_back(task);
    if (metrics_ != nullptr)
      metrics_->QueueDepth(options_.model).Set(queue_.size());
  }
  queue_changed_.notify_one();
  // The sync gRPC API has no cancellation callback: poll while waiting.
  constexpr absl::Duration kPollInterval = absl::Milliseconds(5);
  std::unique_lock<std::mutex> lock(task->mu);
  while (!task->done) {
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      task->abandoned = true;
      return absl::DeadlineExceededError(
          "the deadline passed before compute finished");
    }
    if (cancelled && cancelled()) {
      task->abandoned = true;
      return absl::CancelledError("the client cancelled the call");
    }
    task->finished.wait_until(
        lock, absl::ToChronoTime(std::min(deadline, now + kPollInterval)));
  }
  return task->status;
}

void ComputeWorker::Loop() {
  core::SetComputeThreads(options_.compute_threads);
  while (true) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queue_changed_.wait(lock,
                          [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      if (metrics_ != nullptr)
        metrics_->QueueDepth(options_.model).Set(queue_.size());
    }
    {
      std::lock_guard<std::mutex> lock(task->mu);
      // Work whose caller has gone or whose deadline has passed is dropped.
      if (task->abandoned || absl::Now() >= task->deadline) {
        task->status = absl::DeadlineExceededError(
            "the deadline passed before compute started");
        task->done = true;
        task->finished.notify_all();
        continue;
      }
    }
    const absl::Time start = absl::Now();
    if (metrics_ != nullptr) {
      metrics_->QueueDuration(options_.model)
          .Observe(absl::ToDoubleSeconds(start - task->enqueued));
    }
    absl::Status status;
    try {
      status = task->work();
    } catch (const std::bad_alloc&) {
      status = absl::ResourceExhaustedError(
          "out of memory while computing the request");
    }
    if (metrics_ != nullptr) {
      metrics_->ComputeDuration(options_.model)
          .Observe(absl::ToDoubleSeconds(absl::Now() - start));
    }
    std::lock_guard<std::mutex> lock(task->mu);
    task->status = std::move(status);
    task->done = true;
    task->finished.notify_all();
  }
}

}  // namespace attnserve::server
