#include "server/runtime/shutdown_gate.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace attnserve::server {

ShutdownGate::Entry::~Entry() {
  if (gate_ == nullptr) return;
  // Notify with the lock held: once it is released, WaitUntilQuiet may
  // return and its caller destroy the gate, condition variable included.
  std::lock_guard<std::mutex> lock(gate_->mu_);
  --gate_->inside_;
  gate_->left_.notify_all();
}

ShutdownGate::Entry ShutdownGate::EnterCall() { return Enter(false); }

ShutdownGate::Entry ShutdownGate::EnterStream() { return Enter(true); }

ShutdownGate::Entry ShutdownGate::Enter(bool refuse_when_closed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    last_arrival_ = absl::Now();
    if (refuse_when_closed) return Entry(nullptr);
  }
  ++inside_;
  return Entry(this);
}

void ShutdownGate::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  // The quiet period runs from here: calls already on the wire land in it.
  last_arrival_ = absl::Now();
}

bool ShutdownGate::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

bool ShutdownGate::WaitUntilQuiet(absl::Duration quiet, absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto empty = [this] { return inside_ == 0; };
  while (true) {
    if (deadline == absl::InfiniteFuture()) {
      left_.wait(lock, empty);
    } else if (!left_.wait_until(lock, absl::ToChronoTime(deadline), empty)) {
      return false;
    }
    // Arrivals do not notify: sleep until the quiet period would end, then
    // look again.
    const absl::Time quiet_from = last_arrival_ + quiet;
    if (absl::Now() >= quiet_from) return true;
    if (absl::Now() >= deadline) return false;
    left_.wait_until(lock, absl::ToChronoTime(std::min(quiet_from, deadline)));
  }
}

}  // namespace attnserve::server
