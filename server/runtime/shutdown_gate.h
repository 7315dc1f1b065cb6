#ifndef ATTNSERVE_SERVER_RUNTIME_SHUTDOWN_GATE_H_
#define ATTNSERVE_SERVER_RUNTIME_SHUTDOWN_GATE_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/time/time.h"

namespace attnserve::server {

// What the drain needs to know about the calls: handlers hold a
// ShutdownGate::Entry for their whole call. Once Close() is called (SIGTERM),
// unary calls are still admitted: they raced the GOAWAY the drain sends (a
// client sends here until it has read it), and a refusal would fail them.
// Streams are refused, and open ones end between messages (closed()), so that
// they do not hold the drain open. WaitUntilQuiet() returns once no call is
// inside and none has arrived for a while: every client has read the GOAWAY.
class ShutdownGate {
 public:
  // Moves only; `open()` is false when the gate refused the stream.
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

  // A unary call: always admitted.
  Entry EnterCall();
  // A stream: refused once closed.
  Entry EnterStream();
  void Close();
  // True once Close() was called. Streams check it between messages.
  bool closed();
  // Waits until no entry is inside and, after Close(), no call has arrived
  // (admitted or refused) for `quiet`, counted from Close() or the last
  // arrival; true when that happened before `deadline`.
  bool WaitUntilQuiet(absl::Duration quiet, absl::Time deadline);

 private:
  Entry Enter(bool refuse_when_closed);

  // std::mutex rather than absl::Mutex: ThreadSanitizer understands it.
  std::mutex mu_;
  std::condition_variable left_;                    // an entry left
  bool closed_ = false;                             // guarded by mu_
  int64_t inside_ = 0;                              // guarded by mu_
  absl::Time last_arrival_ = absl::InfinitePast();  // guarded by mu_
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_RUNTIME_SHUTDOWN_GATE_H_
