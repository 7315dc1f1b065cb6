// The encoder on a CPU limited to AVX2 (oneDNN's max ISA lowered before any
// primitive exists): FP32 still matches torch, BF16 is refused with a clear
// error instead of failing the model load.
#include <string>

#include "core/io/safetensors.h"
#include "core/model/encoder_model.h"
#include "core/models/bert/bert_model.h"
#include "dnnl.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::core {
namespace {

using ::testing::HasSubstr;

const std::string kGoldenDir =
    std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/";

TEST(BertAvx2Test, Fp32WorksAndBf16IsRefused) {
  ASSERT_EQ(dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2), dnnl::status::success);
  auto model = LoadBertModel(kGoldenDir + "tiny_bert");
  ASSERT_TRUE(model.ok()) << model.status();

  auto expected_file =
      SafetensorsFile::Open(kGoldenDir + "tiny_bert_expected.safetensors");
  ASSERT_TRUE(expected_file.ok()) << expected_file.status();
  const Tensor expected =
      SafetensorsToFloat((*expected_file)->bytes(),
                         *(*expected_file)->header().Find("mha_self.output"));
  const Tensor hidden =
      SafetensorsToFloat((*expected_file)->bytes(),
                         *(*expected_file)->header().Find("mha_self.hidden"));
  MultiHeadAttendInputs in;
  in.layer = 1;
  in.hidden = hidden;
  in.lengths = {5, 3};
  auto out = MultiHeadAttend(**model, in);
  ASSERT_TRUE(out.ok()) << out.status();
  float worst = 0;
  for (int64_t i = 0; i < expected.num_elements(); ++i) {
    worst = std::max(worst, std::fabs(out->output.data<float>()[i] -
                                      expected.data<float>()[i]));
  }
  EXPECT_LE(worst, 1e-4);

  PackedBatch batch;
  batch.token_ids = {2, 50, 60, 3};
  batch.offsets = {0, 4};
  EXPECT_TRUE(Encode(**model, batch, EncodeOptions()).ok());
  EncodeOptions bf16;
  bf16.compute_dtype = DType::kBF16;
  auto refused = Encode(**model, batch, bf16);
  if (refused.ok()) GTEST_SKIP() << "this oneDNN build has BF16 matmul on AVX2";
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("compute_dtype BF16 is not supported on this CPU"));
}

}  // namespace
}  // namespace attnserve::core
