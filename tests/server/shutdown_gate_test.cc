#include "server/shutdown_gate.h"

#include <memory>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace attnserve::server {
namespace {

TEST(ShutdownGateTest, ClosedGateRefusesNewCallsAndWaitsForTheOnesInside) {
  ShutdownGate gate;
  std::optional<ShutdownGate::Entry> inside(gate.Enter());
  ASSERT_TRUE(inside->open());
  {
    ShutdownGate::Entry short_call = gate.Enter();
    EXPECT_TRUE(short_call.open());
  }
  EXPECT_FALSE(gate.closed());
  gate.Close();
  EXPECT_TRUE(gate.closed());
  EXPECT_FALSE(gate.Enter().open());
  EXPECT_FALSE(gate.WaitUntilEmpty(absl::Now() + absl::Milliseconds(10)));
  std::thread leave([&] { inside.reset(); });
  EXPECT_TRUE(gate.WaitUntilEmpty(absl::InfiniteFuture()));
  leave.join();
}

TEST(ShutdownGateTest, EmptyGateIsEmptyAtOnce) {
  ShutdownGate gate;
  gate.Close();
  EXPECT_TRUE(gate.WaitUntilEmpty(absl::InfinitePast()));
}

// attnserve destroys the gate right after WaitUntilEmpty returns, while the
// last call's thread may still be inside Entry's destructor. Under
// ThreadSanitizer (or ASan, when the timing hits) this failed while the
// destructor notified after releasing the lock.
TEST(ShutdownGateTest, GateMayBeDestroyedAsSoonAsItIsEmpty) {
  for (int round = 0; round < 100; ++round) {
    auto gate = std::make_unique<ShutdownGate>();
    std::optional<ShutdownGate::Entry> inside(gate->Enter());
    std::thread leave([&] { inside.reset(); });
    gate->Close();
    EXPECT_TRUE(gate->WaitUntilEmpty(absl::InfiniteFuture()));
    gate.reset();
    leave.join();
  }
}

}  // namespace
}  // namespace attnserve::server
