#include "server/shutdown_gate.h"

namespace attnserve::server {

ShutdownGate::Entry::~Entry() {
  if (gate_ == nullptr) return;
  absl::MutexLock lock(&gate_->mu_);
  --gate_->inside_;
}

ShutdownGate::Entry ShutdownGate::Enter() {
  absl::MutexLock lock(&mu_);
  if (closed_) return Entry(nullptr);
  ++inside_;
  return Entry(this);
}

void ShutdownGate::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool ShutdownGate::WaitUntilEmpty(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto empty = [this]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return inside_ == 0; };
  return mu_.AwaitWithDeadline(absl::Condition(&empty), deadline);
}

}  // namespace attnserve::server
