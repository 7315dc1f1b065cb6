#include "server/runtime/shutdown_gate.h"

#include <memory>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace attnserve::server {
namespace {

TEST(ShutdownGateTest, ClosedGateAdmitsCallsRefusesStreamsAndWaitsForEntries) {
  ShutdownGate gate;
  std::optional<ShutdownGate::Entry> inside(gate.EnterCall());
  ASSERT_TRUE(inside->open());
  {
    ShutdownGate::Entry short_stream = gate.EnterStream();
    EXPECT_TRUE(short_stream.open());
  }
  EXPECT_FALSE(gate.closed());
  gate.Close();
  EXPECT_TRUE(gate.closed());
  EXPECT_FALSE(gate.EnterStream().open());
  EXPECT_TRUE(gate.EnterCall().open());
  EXPECT_FALSE(gate.WaitUntilQuiet(absl::ZeroDuration(),
                                   absl::Now() + absl::Milliseconds(10)));
  std::thread leave([&] { inside.reset(); });
  EXPECT_TRUE(
      gate.WaitUntilQuiet(absl::ZeroDuration(), absl::InfiniteFuture()));
  leave.join();
}

TEST(ShutdownGateTest, EmptyGateIsEmptyAtOnce) {
  ShutdownGate gate;
  gate.Close();
  EXPECT_TRUE(gate.WaitUntilQuiet(absl::ZeroDuration(), absl::InfinitePast()));
}

// Calls the clients sent before they read the GOAWAY can arrive just after
// Close(): with no arrival at all, the quiet period still runs from Close().
TEST(ShutdownGateTest, QuietPeriodCountsFromClose) {
  ShutdownGate gate;
  gate.Close();
  const absl::Time closed = absl::Now();
  EXPECT_FALSE(gate.WaitUntilQuiet(absl::Hours(1),
                                   absl::Now() + absl::Milliseconds(10)));
  EXPECT_TRUE(
      gate.WaitUntilQuiet(absl::Milliseconds(50), absl::InfiniteFuture()));
  EXPECT_GE(absl::Now() - closed, absl::Milliseconds(50));
}

TEST(ShutdownGateTest, WaitsUntilNoCallHasArrivedForTheQuietPeriod) {
  for (const bool stream : {false, true}) {
    ShutdownGate gate;
    gate.Close();
    {
      ShutdownGate::Entry entry =
          stream ? gate.EnterStream() : gate.EnterCall();
    }
    const absl::Time arrived = absl::Now();
    // Empty, but a call arrived just now: not quiet within 10 ms.
    EXPECT_FALSE(gate.WaitUntilQuiet(absl::Hours(1),
                                     absl::Now() + absl::Milliseconds(10)));
    EXPECT_TRUE(
        gate.WaitUntilQuiet(absl::Milliseconds(50), absl::InfiniteFuture()));
    EXPECT_GE(absl::Now() - arrived, absl::Milliseconds(50));
  }
}

TEST(ShutdownGateTest, EachArrivalRestartsTheQuietPeriod) {
  ShutdownGate gate;
  gate.Close();
  std::thread late_caller([&] {
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(gate.EnterCall().open());
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  absl::SleepFor(absl::Milliseconds(5));
  const absl::Time start = absl::Now();
  // Calls every 20 ms for ~80 ms: quiet for 60 ms only after the last.
  EXPECT_TRUE(
      gate.WaitUntilQuiet(absl::Milliseconds(60), absl::InfiniteFuture()));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(60 + 60));
  late_caller.join();
}

// attnserve destroys the gate right after WaitUntilQuiet returns, while the
// last call's thread may still be inside Entry's destructor. Under
// ThreadSanitizer (or ASan, when the timing hits) this failed while the
// destructor notified after releasing the lock.
TEST(ShutdownGateTest, GateMayBeDestroyedAsSoonAsItIsEmpty) {
  for (int round = 0; round < 100; ++round) {
    auto gate = std::make_unique<ShutdownGate>();
    std::optional<ShutdownGate::Entry> inside(gate->EnterCall());
    std::thread leave([&] { inside.reset(); });
    gate->Close();
    EXPECT_TRUE(
        gate->WaitUntilQuiet(absl::ZeroDuration(), absl::InfiniteFuture()));
    gate.reset();
    leave.join();
  }
}

}  // namespace
}  // namespace attnserve::server
