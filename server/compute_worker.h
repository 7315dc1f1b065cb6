#ifndef ATTNSERVE_SERVER_COMPUTE_WORKER_H_
#define ATTNSERVE_SERVER_COMPUTE_WORKER_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/metrics.h"

namespace attnserve::server {

// One dedicated thread that owns the compute cores (its OpenMP team runs the
// oneDNN primitives and the project's kernels) and runs submitted work in
// order from a bounded queue. gRPC threads only wait for results.
class ComputeWorker {
 public:
  struct Options {
    std::string model = "attention";  // the metrics' `model` label
    int compute_threads = 1;          // OpenMP team size of the compute thread
    size_t max_queue_size = 64;  // submissions waiting beyond this are refused
  };

  // `metrics` may be null; otherwise it must outlive the worker.
  ComputeWorker(const Options& options, Metrics* metrics);
  // Stops the thread after the running work; work still queued is answered
  // UNAVAILABLE.
  ~ComputeWorker();
  ComputeWorker(const ComputeWorker&) = delete;
  ComputeWorker& operator=(const ComputeWorker&) = delete;

  // Runs `work` on the compute thread and returns its status. Gives up with
  // DEADLINE_EXCEEDED once `deadline` passes, or CANCELLED once `cancelled()`
  // returns true (polled while waiting); work given up on before it starts is
  // dropped, never computed. A full queue is RESOURCE_EXHAUSTED. `work` must
  // own (or share) everything it touches: it may still be running when Run
  // has returned DEADLINE_EXCEEDED or CANCELLED.
  absl::Status Run(std::function<absl::Status()> work, absl::Time deadline,
                   const std::function<bool()>& cancelled);

 private:
  struct Task;
  void Loop();

  const Options options_;
  Metrics* const metrics_;
  // std::mutex rather than absl::Mutex: ThreadSanitizer understands it.
  std::mutex mu_;
  std::condition_variable queue_changed_;
  std::deque<std::shared_ptr<Task>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::thread thread_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_COMPUTE_WORKER_H_
