#include "core/kernels/relative_position.h"

#include <string>
#include <vector>

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

// The by-offset table against a direct loop over (query, key) pairs.
TEST(RelativePositionTest, BiasByOffsetIndexesTheBuckets) {
  const int64_t heads = 3, buckets = 32, max_length = 70;
  std::vector<float> weight(buckets * heads);
  for (size_t i = 0; i < weight.size(); ++i) weight[i] = float(i) * 0.5f - 7;
  const std::vector<float> table =
      RelativePositionBiasByOffset(weight.data(), heads, max_length);
  ASSERT_EQ(table.size(), size_t(heads * (2 * max_length - 1)));
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < max_length; ++i) {
      const float* row = table.data() + h * (2 * max_length - 1) +
                         (max_length - 1 - i);  // the slice for query i
      for (int64_t j = 0; j < max_length; ++j) {
        EXPECT_EQ(row[j], weight[RelativePositionBucket(j - i) * heads + h])
            << "head " << h << " query " << i << " key " << j;
      }
    }
  }
}

}  // namespace
}  // namespace attnserve::core
