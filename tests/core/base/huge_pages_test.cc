#include "core/base/huge_pages.h"

#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

TEST(HugePagesTest, SmallBuffersAre64ByteAlignedAndWritable) {
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{100}, size_t{1} << 20}) {
    std::shared_ptr<void> p = AllocateHugePageBacked(bytes);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % 64, 0u) << bytes;
    std::memset(p.get(), 0x5a, bytes);
  }
}

TEST(HugePagesTest, LargeBuffersStartOnA2MiBBoundaryAndAreWritable) {
  for (size_t bytes : {size_t{2} << 20, (size_t{5} << 20) + 3}) {
    std::shared_ptr<void> p = AllocateHugePageBacked(bytes);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % (size_t{2} << 20), 0u)
        << bytes;
    std::memset(p.get(), 0x5a, bytes);
    EXPECT_EQ(static_cast<unsigned char*>(p.get())[bytes - 1], 0x5a);
  }
}

}  // namespace
}  // namespace attnserve::core
