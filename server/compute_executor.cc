#include "server/compute_executor.h"

#include <utility>

namespace attnserve::server {

ComputeExecutor::ComputeExecutor(std::function<void()> init)
    : thread_([this, init = std::move(init)] {
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
  while (true) {
    queued_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stop_, nothing left
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
