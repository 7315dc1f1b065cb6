#ifndef ATTNSERVE_SERVER_SHUTDOWN_GATE_H_
#define ATTNSERVE_SERVER_SHUTDOWN_GATE_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace attnserve::server {

// Lets calls in until shutdown starts, then lets the ones inside finish:
// handlers hold a ShutdownGate::Entry for their whole call; once Close() is
// called, new entries are refused (the handler answers UNAVAILABLE) and
// WaitUntilEmpty() returns when the last entry is gone.
class ShutdownGate {
 public:
  // Moves only; `open()` is false when the gate refused the call.
  class Entry {
   public:
    Entry(Entry&& other) noexcept : gate_(other.gate_) {
      other.gate_ = nullptr;
    }
    Entry& operator=(Entry&&) = delete;
    ~Entry();
    bool open() const { return gate_ != nullptr; }

   private:
    friend class ShutdownGate;
    explicit Entry(ShutdownGate* gate) : gate_(gate) {}
    ShutdownGate* gate_;
  };

  Entry Enter();
  void Close();
  // True when empty before `deadline`.
  bool WaitUntilEmpty(absl::Time deadline);

 private:
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int64_t inside_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SHUTDOWN_GATE_H_
