// Overhead of the batching scheduler itself: requests of one sequence go
// Submit -> batch -> a compute that does nothing -> done callback. The result
// is the scheduler's cost per request (locking, batch forming, thread
// hand-offs), to compare with the compute time of a real batch.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "server/scheduling/scheduler.h"

namespace attnserve::server {
namespace {

// Waits until `n` done callbacks have run.
class DoneCounter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    cv_.notify_all();
  }
  void AwaitAndReset(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ >= n; });
    done_ = 0;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
};

// Args: max_batch_size, number of requests submitted back to back.
void BM_SubmitToDone(benchmark::State& state) {
  const int max_batch_size = static_cast<int>(state.range(0));
  const int requests = static_cast<int>(state.range(1));
  SchedulerOptions options;
  options.max_batch_size = max_batch_size;
  options.max_queue_size = requests;
  std::atomic<int64_t> batches{0};
  auto scheduler = Scheduler::Create(options, [&](const Batch&) {
    batches.fetch_add(1, std::memory_order_relaxed);
    return absl::OkStatus();
  });
  if (!scheduler.ok()) {
    state.SkipWithError(scheduler.status().ToString().c_str());
    return;
  }
  DoneCounter counter;
  for (auto _ : state) {
    for (int i = 0; i < requests; ++i) {
      (*scheduler)
          ->Submit(std::make_shared<ScheduledRequest>(
              std::vector<int64_t>{16}, absl::InfiniteFuture(),
              [&counter](const absl::Status&) { counter.Add(); }));
    }
    counter.AwaitAndReset(requests);
  }
  state.SetItemsProcessed(state.iterations() * requests);
  state.counters["requests_per_batch"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * requests /
                         static_cast<double>(batches.load()));
}
BENCHMARK(BM_SubmitToDone)
    ->Args({1, 256})
    ->Args({32, 256})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace attnserve::server

BENCHMARK_MAIN();
