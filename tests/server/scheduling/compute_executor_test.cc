// The compute executor runs every task on its one thread, in order, one at a
// time, and hands each caller its task's status. No OpenMP (clean under
// ThreadSanitizer).
#include "server/scheduling/compute_executor.h"

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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

// Polls `done` for up to 10 s.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST(ComputeExecutorTest, IdleTaskRunsOnceOnItsThreadEachTimeTheWorkStops) {
  std::atomic<int> idle_runs{0};
  std::thread::id compute_thread, idle_thread;
  ComputeExecutor executor([&] { compute_thread = std::this_thread::get_id(); },
                           {absl::Milliseconds(10), [&] {
                              idle_thread = std::this_thread::get_id();
                              ++idle_runs;
                            }});
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(idle_runs.load(), 0) << "idle before any work";
  ASSERT_TRUE(executor.Run([] { return absl::OkStatus(); }).ok());
  ASSERT_TRUE(Eventually([&] { return idle_runs.load() == 1; }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(idle_runs.load(), 1) << "ran again without new work";
  ASSERT_TRUE(executor.Run([] { return absl::OkStatus(); }).ok());
  ASSERT_TRUE(Eventually([&] { return idle_runs.load() == 2; }));
  EXPECT_EQ(idle_thread, compute_thread);
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
