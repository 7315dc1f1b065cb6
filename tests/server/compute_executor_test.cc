// The compute executor runs every task on its one thread, in order, one at a
// time, and hands each caller its task's status. No OpenMP (clean under
// ThreadSanitizer).
#include "server/compute_executor.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace attnserve::server {
namespace {

TEST(ComputeExecutorTest, RunsTasksOnItsOwnThreadAfterInit) {
  std::thread::id init_thread;
  ComputeExecutor executor([&] { init_thread = std::this_thread::get_id(); });
  std::thread::id first, second;
  ASSERT_TRUE(executor
                  .Run([&] {
                    first = std::this_thread::get_id();
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(executor
                  .Run([&] {
                    second = std::this_thread::get_id();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(first, init_thread);
  EXPECT_EQ(second, init_thread);
  EXPECT_NE(first, std::this_thread::get_id());
}

TEST(ComputeExecutorTest, ReturnsTheTasksStatus) {
  ComputeExecutor executor;
  const absl::Status status =
      executor.Run([] { return absl::InternalError("oneDNN failed"); });
  EXPECT_EQ(status, absl::InternalError("oneDNN failed"));
}

TEST(ComputeExecutorTest, ConcurrentCallersRunOneAtATimeAndAllComplete) {
  ComputeExecutor executor;
  std::atomic<int> running{0}, most_running{0}, completed{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < 100; ++i) {
        const absl::Status status = executor.Run([&] {
          const int now = ++running;
          int seen = most_running.load();
          while (now > seen && !most_running.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::yield();
          --running;
          return (c + i) % 3 == 0 ? absl::CancelledError("odd one")
                                  : absl::OkStatus();
        });
        EXPECT_EQ(status.ok(), (c + i) % 3 != 0);
        ++completed;
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(completed.load(), 800);
  EXPECT_EQ(most_running.load(), 1);
}

}  // namespace
}  // namespace attnserve::server
