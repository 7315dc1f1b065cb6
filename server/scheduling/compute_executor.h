#ifndef ATTNSERVE_SERVER_SCHEDULING_COMPUTE_EXECUTOR_H_
#define ATTNSERVE_SERVER_SCHEDULING_COMPUTE_EXECUTOR_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace attnserve::server {

// Work for the compute thread when the server has gone idle: `run` once, when
// no task has been queued for `after` since the last task ended.
struct IdleTask {
  absl::Duration after = absl::InfiniteDuration();
  std::function<void()> run;
};

// The one thread that runs every kernel of the server: model loading (weight
// reorders) and the computes of every scheduler queue. OpenMP keeps one team
// per thread that opens parallel regions; with every region opened here the
// process has a single team, whose threads libgomp lets spin briefly between
// regions. With one team per queue worker (and one left over from loading)
// libgomp manages more threads than CPUs and throttles that spin to ~100
// iterations, so the team's threads sleep and are woken at every parallel
// region of every layer.
class ComputeExecutor {
 public:
  // Starts the thread, which first runs `init` (e.g. core::SetComputeThreads).
  explicit ComputeExecutor(std::function<void()> init = nullptr,
                           IdleTask idle = {});
  // Runs what is queued, then joins the thread.
  ~ComputeExecutor();
  ComputeExecutor(const ComputeExecutor&) = delete;
  ComputeExecutor& operator=(const ComputeExecutor&) = delete;

  // Runs `task` on the compute thread after the tasks queued before it and
  // returns its status; the caller blocks until then. Thread-safe; not from a
  // task (it would wait for itself).
  absl::Status Run(const std::function<absl::Status()>& task);

 private:
  struct Task {
    const std::function<absl::Status()>* run;
    absl::Status status;
    bool done = false;
  };
  void Loop();

  std::mutex mu_;
  std::condition_variable queued_;  // a task was queued, or stop_
  std::condition_variable done_;    // a task finished
  std::deque<Task*> tasks_;         // guarded by mu_
  bool stop_ = false;               // guarded by mu_
  const IdleTask idle_;
  std::thread thread_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SCHEDULING_COMPUTE_EXECUTOR_H_
