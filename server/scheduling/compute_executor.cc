#include "server/scheduling/compute_executor.h"

#include <utility>

#include "core/base/parallel.h"

namespace attnserve::server {

ComputeExecutor::ComputeExecutor(std::function<void()> init, IdleTask idle)
    : idle_(std::move(idle)), thread_([this, init = std::move(init)] {
        if (init) init();
        Loop();
      }) {}

ComputeExecutor::~ComputeExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  queued_.notify_one();
  thread_.join();
}

absl::Status ComputeExecutor::Run(const std::function<absl::Status()>& task) {
  Task t{&task, absl::OkStatus()};
  std::unique_lock<std::mutex> lock(mu_);
  tasks_.push_back(&t);
  queued_.notify_one();
  done_.wait(lock, [&] { return t.done; });
  return std::move(t.status);
}

void ComputeExecutor::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  auto has_work = [&] { return stop_ || !tasks_.empty(); };
  bool idle_due = false;  // a task ran since the idle task last did
  while (true) {
    if (!has_work()) {
      bool went_idle = false;
      // The OpenMP team sleeps while this thread waits (see ParkTeamDuring).
      core::ParkTeamDuring([&] {
        if (idle_due && idle_.run && idle_.after != absl::InfiniteDuration()) {
          went_idle = !queued_.wait_for(
              lock, absl::ToChronoMilliseconds(idle_.after), has_work);
        } else {
          queued_.wait(lock, has_work);
        }
      });
      if (went_idle) {
        lock.unlock();
        idle_.run();
        lock.lock();
        idle_due = false;
        continue;
      }
    }
    if (tasks_.empty()) return;  // stop_, nothing left
    idle_due = true;
    Task* task = tasks_.front();
    tasks_.pop_front();
    lock.unlock();
    absl::Status status = (*task->run)();
    lock.lock();
    task->status = std::move(status);
    task->done = true;
    done_.notify_all();
  }
}

}  // namespace attnserve::server
