#ifndef ATTNSERVE_SERVER_SHUTDOWN_GATE_H_
#define ATTNSERVE_SERVER_SHUTDOWN_GATE_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>

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
  // True once Close() was called. Long calls (streams) check it between
  // messages, so that they end instead of holding the drain open.
  bool closed();
  // True when empty before `deadline`.
  bool WaitUntilEmpty(absl::Time deadline);

 private:
  // std::mutex rather than absl::Mutex: ThreadSanitizer understands it.
  std::mutex mu_;
  std::condition_variable left_;  // an entry left
  bool closed_ = false;           // guarded by mu_
  int64_t inside_ = 0;            // guarded by mu_
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SHUTDOWN_GATE_H_
