#include "client/npy.h"

#include "gtest/gtest.h"

namespace attnserve::client {
namespace {

TEST(NpyTest, RoundTrips) {
  NpyArray a{{2, 3}, {1, 2, 3, 4, 5, -6.5f}};
  std::string bytes = SerializeNpy(a);
  EXPECT_EQ((10 + (uint8_t(bytes[8]) | uint8_t(bytes[9]) << 8)) % 64, 0u);
  auto b = ParseNpy(bytes, "a.npy");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->shape, a.shape);
  EXPECT_EQ(b->values, a.values);
  NpyArray one{{4}, {1, 2, 3, 4}};
  EXPECT_EQ(ParseNpy(SerializeNpy(one), "x")->shape, std::vector<int64_t>{4});
}

TEST(NpyTest, ReadsFloat64AndFloat16) {
  // Written by numpy: np.array([[1.5, -2]], dtype=np.float64) / np.float16.
  std::string header =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }";
  header.resize(117, ' ');  // 10 + 118 header bytes: data 64-byte aligned
  header += '\n';
  std::string f64 =
      std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + '\0' + header;
  const double d[2] = {1.5, -2};
  f64.append(reinterpret_cast<const char*>(d), sizeof(d));
  auto a = ParseNpy(f64, "d.npy");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->values, (std::vector<float>{1.5f, -2.0f}));

  std::string h16 = header;
  h16.replace(h16.find("<f8"), 3, "<f2");
  std::string f16 =
      std::string("\x93NUMPY\x01\x00", 8) + char(h16.size()) + '\0' + h16;
  const uint16_t h[2] = {0x3e00, 0xc000};  // 1.5, -2
  f16.append(reinterpret_cast<const char*>(h), sizeof(h));
  auto b = ParseNpy(f16, "h.npy");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->values, (std::vector<float>{1.5f, -2.0f}));
}

TEST(NpyTest, RejectsBadFiles) {
  EXPECT_FALSE(ParseNpy("not numpy", "x.npy").ok());
  std::string bytes = SerializeNpy(NpyArray{{2}, {1, 2}});
  auto truncated = ParseNpy(bytes.substr(0, bytes.size() - 1), "t.npy");
  EXPECT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("t.npy"), std::string::npos);
  std::string ints = bytes;
  ints.replace(ints.find("<f4"), 3, "<i4");
  EXPECT_NE(ParseNpy(ints, "i.npy").status().message().find("not supported"),
            std::string::npos);
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_FALSE(ParseNpy(fortran, "f.npy").ok());
}

}  // namespace
}  // namespace attnserve::client
