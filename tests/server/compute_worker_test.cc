#include "server/compute_worker.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "core/parallel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics.h"

namespace attnserve::server {
namespace {

using ::testing::HasSubstr;

const absl::Time kNoDeadline = absl::InfiniteFuture();

ComputeWorker::Options WorkerOptions(size_t max_queue_size) {
  ComputeWorker::Options options;
  options.model = "test";
  options.compute_threads = 2;
  options.max_queue_size = max_queue_size;
  return options;
}

// Occupies the compute thread until Release().
class BlockingWork {
 public:
  explicit BlockingWork(ComputeWorker* worker)
      : thread_([this, worker] {
          status_ = worker->Run(
              [this] {
                started_.Notify();
                release_.WaitForNotification();
                return absl::OkStatus();
              },
              kNoDeadline, nullptr);
        }) {
    started_.WaitForNotification();
  }
  ~BlockingWork() {
    Release();
    thread_.join();
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  absl::Status Join() {
    Release();
    thread_.join();
    thread_ = std::thread([] {});
    return status_;
  }

 private:
  absl::Notification started_, release_;
  absl::Status status_;
  std::thread thread_;
};

// Waits until `n` submissions are queued behind the running one.
void WaitForQueueDepth(Metrics& metrics, double n) {
  while (metrics.QueueDepth("test").Value() < n)
    absl::SleepFor(absl::Milliseconds(1));
}

TEST(ComputeWorkerTest, RunsWorkOnItsOwnThreadWithItsThreadCount) {
  Metrics metrics;
  ComputeWorker worker(WorkerOptions(4), &metrics);
  std::thread::id work_thread;
  int threads = 0;
  absl::Status status = worker.Run(
      [&] {
        work_thread = std::this_thread::get_id();
        threads = core::ComputeThreads();
        return absl::InvalidArgumentError("query.shape is wrong");
      },
      kNoDeadline, nullptr);
  EXPECT_EQ(status, absl::InvalidArgumentError("query.shape is wrong"));
  EXPECT_NE(work_thread, std::this_thread::get_id());
  EXPECT_EQ(threads, 2);
  EXPECT_EQ(metrics.ComputeDuration("test").Collect().histogram.sample_count,
            1u);
}

TEST(ComputeWorkerTest, FullQueueIsResourceExhausted) {
  Metrics metrics;
  ComputeWorker worker(WorkerOptions(1), &metrics);
  BlockingWork running(&worker);
  absl::Status queued_status;
  std::thread queued([&] {
    queued_status =
        worker.Run([] { return absl::OkStatus(); }, kNoDeadline, nullptr);
  });
  WaitForQueueDepth(metrics, 1);
  bool ran = false;
  absl::Status refused = worker.Run(
      [&] {
        ran = true;
        return absl::OkStatus();
      },
      kNoDeadline, nullptr);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("queue full"));
  EXPECT_TRUE(running.Join().ok());
  queued.join();
  EXPECT_TRUE(queued_status.ok());
  EXPECT_FALSE(ran);
}

TEST(ComputeWorkerTest, WorkWhoseDeadlinePassedInTheQueueIsDropped) {
  Metrics metrics;
  ComputeWorker worker(WorkerOptions(4), &metrics);
  BlockingWork running(&worker);
  std::atomic<bool> ran{false};
  absl::Status status = worker.Run(
      [&] {
        ran = true;
        return absl::OkStatus();
      },
      absl::Now() + absl::Milliseconds(20), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(running.Join().ok());
  // The worker is past the dropped work once a later submission has run.
  EXPECT_TRUE(
      worker.Run([] { return absl::OkStatus(); }, kNoDeadline, nullptr).ok());
  EXPECT_FALSE(ran);
  EXPECT_EQ(metrics.ComputeDuration("test").Collect().histogram.sample_count,
            2u);
}

TEST(ComputeWorkerTest, CancelledWorkIsDropped) {
  Metrics metrics;
  ComputeWorker worker(WorkerOptions(4), &metrics);
  BlockingWork running(&worker);
  std::atomic<bool> cancelled{false}, ran{false};
  absl::Status status;
  std::thread caller([&] {
    status = worker.Run(
        [&] {
          ran = true;
          return absl::OkStatus();
        },
        kNoDeadline, [&] { return cancelled.load(); });
  });
  WaitForQueueDepth(metrics, 1);
  cancelled = true;
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(running.Join().ok());
  EXPECT_TRUE(
      worker.Run([] { return absl::OkStatus(); }, kNoDeadline, nullptr).ok());
  EXPECT_FALSE(ran);
}

TEST(ComputeWorkerTest, OutOfMemoryIsResourceExhausted) {
  ComputeWorker worker(WorkerOptions(4), nullptr);
  absl::Status status = worker.Run(
      []() -> absl::Status { throw std::bad_alloc(); }, kNoDeadline, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace attnserve::server
