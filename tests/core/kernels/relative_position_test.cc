#include "core/kernels/relative_position.h"

#include <string>

#include "core/io/safetensors.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

// Every bucket of relative positions -300..300 equals torch's
// MPNetEncoder.relative_position_bucket (tests/golden/gen_models.py), the
// float boundaries (|d| = 16, 32, 64, 128) included.
TEST(RelativePositionTest, BucketsMatchTorch) {
  auto file = SafetensorsFile::Open(
      std::string(ATTNSERVE_SOURCE_DIR) +
      "/tests/golden/models/mpnet/relative_buckets.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  Tensor rel, bucket;
  for (const SafetensorsTensorInfo& info : (*file)->header().tensors) {
    if (info.name == "relative_position") {
      rel = SafetensorsToFloat((*file)->bytes(), info);
    } else if (info.name == "bucket") {
      bucket = SafetensorsToFloat((*file)->bytes(), info);
    }
  }
  ASSERT_EQ(rel.num_elements(), 601);
  ASSERT_EQ(bucket.num_elements(), 601);
  for (int64_t i = 0; i < rel.num_elements(); ++i) {
    const int64_t d = int64_t(rel.GetFloat(i));
    EXPECT_EQ(RelativePositionBucket(d), int32_t(bucket.GetFloat(i)))
        << "relative position " << d;
  }
  // Far beyond max_distance the buckets saturate at 15 / 31.
  EXPECT_EQ(RelativePositionBucket(-100000), 15);
  EXPECT_EQ(RelativePositionBucket(100000), 31);
}

}  // namespace
}  // namespace attnserve::core
