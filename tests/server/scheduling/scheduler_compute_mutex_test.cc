// A batch formed while another queue holds the shared compute mutex: requests
// that finish while it waits for the mutex (cancelled, or expired) are not
// computed when the worker gets the mutex. Real clock, no OpenMP (clean under
// ThreadSanitizer).
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/scheduling/batch_former.h"
#include "server/scheduling/scheduler.h"

namespace attnserve::server {
namespace {

// Counts formed and computed batches and records each request's outcome.
class Recorder : public SchedulerObserver {
 public:
  void OnBatchFormed(const Batch&) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++batches_formed_;
    cv_.notify_all();
  }

  ScheduledRequest::DoneCallback Done(int id) {
    return [this, id](const absl::Status& status) {
      std::lock_guard<std::mutex> lock(mu_);
      outcomes_.emplace_back(id, status.code());
      cv_.notify_all();
    };
  }

  // Waits (at most 20 s) until `n` batches were formed.
  void AwaitBatchesFormed(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20),
                             [&] { return batches_formed_ >= n; }));
  }
  // Waits (at most 20 s) until `n` requests completed.
  void AwaitOutcomes(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20),
                             [&] { return outcomes_.size() >= n; }));
  }
  std::vector<std::pair<int, absl::StatusCode>> outcomes() {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int batches_formed_ = 0;
  std::vector<std::pair<int, absl::StatusCode>> outcomes_;
};

struct SharedMutexQueue {
  std::mutex compute_mutex;
  Recorder recorder;
  std::mutex computed_mu;
  std::vector<int64_t> computed_tokens;  // total tokens of each computed batch
  std::unique_ptr<Scheduler> scheduler;

  SharedMutexQueue() {
    SchedulerOptions options;
    options.max_batch_size = 8;
    options.compute_mutex = &compute_mutex;
    auto created = Scheduler::Create(
        options,
        [this](const Batch& batch) {
          std::lock_guard<std::mutex> lock(computed_mu);
          computed_tokens.push_back(batch.total_tokens());
          return absl::OkStatus();
        },
        &recorder);
    EXPECT_TRUE(created.ok()) << created.status();
    scheduler = *std::move(created);
  }
};

TEST(SchedulerComputeMutexTest, CancelledWhileWaitingForTheMutexIsNotComputed) {
  SharedMutexQueue s;
  std::unique_lock<std::mutex> other_queue_computing(s.compute_mutex);
  auto request = std::make_shared<ScheduledRequest>(
      std::vector<int64_t>{7, 7}, absl::InfiniteFuture(), s.recorder.Done(0));
  s.scheduler->Submit(request);
  s.recorder.AwaitBatchesFormed(1);  // the worker now waits for the mutex
  s.scheduler->Cancel(*request);
  other_queue_computing.unlock();
  s.scheduler->Shutdown();
  EXPECT_EQ(s.recorder.outcomes(),
            (std::vector<std::pair<int, absl::StatusCode>>{
                {0, absl::StatusCode::kCancelled}}));
  EXPECT_TRUE(s.computed_tokens.empty());
}

TEST(SchedulerComputeMutexTest, ExpiredWhileWaitingForTheMutexIsNotComputed) {
  SharedMutexQueue s;
  std::unique_lock<std::mutex> other_queue_computing(s.compute_mutex);
  s.scheduler->Submit(std::make_shared<ScheduledRequest>(
      std::vector<int64_t>{5}, absl::Now() + absl::Milliseconds(50),
      s.recorder.Done(0)));
  s.recorder.AwaitOutcomes(1);  // the deadline thread finished it
  other_queue_computing.unlock();
  s.scheduler->Shutdown();
  EXPECT_EQ(s.recorder.outcomes(),
            (std::vector<std::pair<int, absl::StatusCode>>{
                {0, absl::StatusCode::kDeadlineExceeded}}));
  EXPECT_TRUE(s.computed_tokens.empty());
}

TEST(SchedulerComputeMutexTest, ALiveRequestInTheBatchIsStillComputed) {
  SharedMutexQueue s;
  std::unique_lock<std::mutex> other_queue_computing(s.compute_mutex);
  auto cancelled = std::make_shared<ScheduledRequest>(
      std::vector<int64_t>{3}, absl::InfiniteFuture(), s.recorder.Done(0));
  auto live = std::make_shared<ScheduledRequest>(
      std::vector<int64_t>{4}, absl::InfiniteFuture(), s.recorder.Done(1));
  // The worker may form its first batch before `live` is queued: either
  // way, `cancelled` is in the batch that waits for the mutex.
  s.scheduler->Submit(cancelled);
  s.scheduler->Submit(live);
  s.recorder.AwaitBatchesFormed(1);
  s.scheduler->Cancel(*cancelled);
  other_queue_computing.unlock();
  s.scheduler->Shutdown();
  ASSERT_EQ(s.recorder.outcomes().size(), 2u);
  EXPECT_EQ(s.recorder.outcomes()[0],
            std::make_pair(0, absl::StatusCode::kCancelled));
  EXPECT_EQ(s.recorder.outcomes()[1], std::make_pair(1, absl::StatusCode::kOk));
  // The live request was computed (alone in a second batch, or with the
  // cancelled one in the first, whose results are discarded).
  int64_t computed = 0;
  for (int64_t tokens : s.computed_tokens) computed += tokens;
  EXPECT_GE(computed, 4);
}

}  // namespace
}  // namespace attnserve::server
