#ifndef ATTNSERVE_SERVER_RUNTIME_SHUTDOWN_GATE_H_
#define ATTNSERVE_SERVER_RUNTIME_SHUTDOWN_GATE_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/time/time.h"

namespace attnserve::server {

// Lets calls in until shutdown starts, then lets the ones inside finish:
// handlers hold a ShutdownGate::Entry for their whole call; once Close() is
// called, new entries are refused (the handler answers UNAVAILABLE) and
// WaitUntilQuiet() returns when the last entry is gone and no call has been
// refused for a while, i.e. clients have stopped sending. gRPC cancels calls
// that arrive after grpc::Server::Shutdown() starts (the client sees
// CANCELLED, not the UNAVAILABLE that says "try another replica"), so the
// server stops only once its clients have gone quiet or the grace has run
// out.
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
  // Waits until no entry is inside and, after Close(), no call has been
  // refused for `quiet`; true when that happened before `deadline`.
  bool WaitUntilQuiet(absl::Duration quiet, absl::Time deadline);

 private:
  // std::mutex rather than absl::Mutex: ThreadSanitizer understands it.
  std::mutex mu_;
  std::condition_variable left_;                    // an entry left
  bool closed_ = false;                             // guarded by mu_
  int64_t inside_ = 0;                              // guarded by mu_
  absl::Time last_refusal_ = absl::InfinitePast();  // guarded by mu_
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_RUNTIME_SHUTDOWN_GATE_H_
