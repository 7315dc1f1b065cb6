#include "server/scheduling/clock.h"

#include "absl/time/clock.h"

namespace attnserve::server {
namespace {

class SystemClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }

  void WaitUntil(std::condition_variable& cv,
                 std::unique_lock<std::mutex>& lock,
                 absl::Time deadline) override {
    if (deadline == absl::InfiniteFuture()) {
      cv.wait(lock);
      return;
    }
    const absl::Duration remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) return;
    // wait_for measures on the steady clock, so wall-clock jumps do not
    // stretch a queue delay.
    cv.wait_for(lock, absl::ToChronoNanoseconds(remaining));
  }
};

}  // namespace

Clock& RealClock() {
  static SystemClock* const clock = new SystemClock();
  return *clock;
}

}  // namespace attnserve::server
