#include "server/shutdown_gate.h"

namespace attnserve::server {

ShutdownGate::Entry::~Entry() {
  if (gate_ == nullptr) return;
  // Notify with the lock held: once it is released, WaitUntilEmpty may
  // return and its caller destroy the gate, condition variable included.
  std::lock_guard<std::mutex> lock(gate_->mu_);
  --gate_->inside_;
  gate_->left_.notify_all();
}

ShutdownGate::Entry ShutdownGate::Enter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Entry(nullptr);
  ++inside_;
  return Entry(this);
}

void ShutdownGate::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

bool ShutdownGate::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

bool ShutdownGate::WaitUntilEmpty(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto empty = [this] { return inside_ == 0; };
  if (deadline == absl::InfiniteFuture()) {
    left_.wait(lock, empty);
    return true;
  }
  return left_.wait_until(lock, absl::ToChronoTime(deadline), empty);
}

}  // namespace attnserve::server
