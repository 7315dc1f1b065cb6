#include "server/api/v1/encode_request.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/infer/encode_work.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server {
namespace {

using ::testing::HasSubstr;

const ServedModel& Demo() {
  static const auto* const model =
      new std::shared_ptr<ServedModel>(*LoadServedModel({"demo", ""}));
  return **model;
}

v1::EncodeRequest Texts(std::vector<std::string> texts) {
  v1::EncodeRequest request;
  for (const std::string& text : texts) request.add_texts(text);
  return request;
}

TEST(PrepareEncodeTest, EmptyTextIsTheSpecialTokensAlone) {
  absl::StatusOr<PreparedEncode> prepared =
      PrepareEncode(Texts({"a", ""}), Demo());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_EQ(prepared->token_ids.size(), 2u);
  EXPECT_EQ(prepared->token_ids[1].size(), 2u);  // [CLS] [SEP]
  EXPECT_EQ(prepared->token_ids[1].front(), prepared->token_ids[0].front());
  EXPECT_EQ(prepared->token_ids[1].back(), prepared->token_ids[0].back());
}

TEST(PrepareEncodeTest, NoSequencesOrAnEmptyIdListIsInvalid) {
  EXPECT_THAT(PrepareEncode(v1::EncodeRequest(), Demo()).status().message(),
              HasSubstr("texts"));
  v1::EncodeRequest request;
  request.add_token_ids()->add_ids(1);
  request.add_token_ids();
  absl::Status status = PrepareEncode(request, Demo()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("token_ids[1]"));
}

TEST(PrepareEncodeTest, RefusesAScaleWhoseScoresOverflowForUnitElements) {
  for (float scale : {3e38f, -3e38f, std::numeric_limits<float>::max()}) {
    v1::EncodeRequest request = Texts({"hello"});
    request.mutable_attention()->set_scale(scale);
    absl::Status status = PrepareEncode(request, Demo()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << scale;
    EXPECT_THAT(status.message(), HasSubstr("attention.scale")) << scale;
  }
  v1::EncodeRequest request = Texts({"hello"});
  request.mutable_attention()->set_scale(1e30f);  // large but finite scores
  EXPECT_TRUE(PrepareEncode(request, Demo()).ok());
}

// An EncodeWork as ComputeEncodeBatch leaves it: [len, hidden] states and one
// [heads, len, len] map per sequence.
struct Computed {
  PreparedEncode prepared;
  std::shared_ptr<EncodeWork> work;
};
Computed Compute(const v1::EncodeRequest& request) {
  Computed c{*PrepareEncode(request, Demo()), nullptr};
  c.work = std::make_shared<EncodeWork>(
      c.prepared.token_ids, c.prepared.options, absl::InfiniteFuture());
  const int64_t hidden = Demo().info.hidden_size;
  const int64_t heads = Demo().info.num_heads;
  // The constructor sized the slots; ComputeEncodeBatch fills them.
  EXPECT_EQ(c.work->hidden.size(), c.prepared.token_ids.size());
  c.work->hidden.clear();
  c.work->attention.clear();
  for (const auto& ids : c.prepared.token_ids) {
    const int64_t len = static_cast<int64_t>(ids.size());
    core::Tensor states(core::DType::kFP32, {len, hidden});
    for (int64_t i = 0; i < states.num_elements(); ++i) {
      states.data<float>()[i] = 0.25f * static_cast<float>(i % 7);
    }
    c.work->hidden.push_back(states);
    core::Tensor map(core::DType::kFP32, {heads, len, len});
    for (int64_t i = 0; i < map.num_elements(); ++i) {
      map.data<float>()[i] = 1.0f / static_cast<float>(len);
    }
    c.work->attention.push_back(std::vector<core::Tensor>(
        c.prepared.options.attention_layers.size(), map));
  }
  return c;
}

TEST(FillEncodeResponseTest, FiniteResultsAnswerOk) {
  Computed c = Compute(Texts({"a", "b c"}));
  v1::EncodeResponse response;
  ASSERT_TRUE(FillEncodeResponse(c.prepared, *c.work, Demo(), &response).ok());
  EXPECT_EQ(response.embeddings_size(), 2);
}

TEST(FillEncodeResponseTest, NonFiniteStatesAreAnInternalErrorNamingTheText) {
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    Computed c = Compute(Texts({"a", "b c"}));
    // A token that CLS pooling does not read: the check covers every token.
    c.work->hidden[1].data<float>()[c.work->hidden[1].num_elements() - 1] = bad;
    v1::EncodeResponse response;
    absl::Status status =
        FillEncodeResponse(c.prepared, *c.work, Demo(), &response);
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << bad;
    EXPECT_THAT(status.message(), HasSubstr("texts[1]"));
    EXPECT_EQ(response.embeddings_size(), 0);
  }
}

TEST(FillEncodeResponseTest, NonFiniteUnderAnAttentionOverrideNamesTheScale) {
  v1::EncodeRequest request;
  request.add_token_ids()->add_ids(1);
  request.mutable_token_ids(0)->add_ids(2);
  request.add_attention_layers(-1);
  request.mutable_attention()->set_scale(1e30f);
  Computed c = Compute(request);
  c.work->attention[0][0].data<float>()[3] = std::nanf("");
  v1::EncodeResponse response;
  absl::Status status =
      FillEncodeResponse(c.prepared, *c.work, Demo(), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("attention.scale"));
  EXPECT_THAT(status.message(), HasSubstr("token_ids[0]"));
}

}  // namespace
}  // namespace attnserve::server
