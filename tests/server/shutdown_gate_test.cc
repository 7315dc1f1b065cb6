#include "server/shutdown_gate.h"

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

}  // namespace
}  // namespace attnserve::server
