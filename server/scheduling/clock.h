#ifndef ATTNSERVE_SERVER_SCHEDULING_CLOCK_H_
#define ATTNSERVE_SERVER_SCHEDULING_CLOCK_H_

#include <condition_variable>
#include <mutex>

#include "absl/time/time.h"

namespace attnserve::server {

// The time source of the scheduler, injected so that queue delays and
// deadlines can be tested deterministically with a fake clock.
class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() = 0;

  // Blocks on `cv` (whose mutex `lock` holds) until `cv` is notified or
  // Now() >= `deadline`, whichever comes first; may also return spuriously,
  // so callers re-check their condition in a loop. InfiniteFuture waits for a
  // notification only.
  virtual void WaitUntil(std::condition_variable& cv,
                         std::unique_lock<std::mutex>& lock,
                         absl::Time deadline) = 0;
};

// absl::Now() and condition-variable timed waits on the steady clock. The
// returned clock lives for the whole process.
Clock& RealClock();

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SCHEDULING_CLOCK_H_
