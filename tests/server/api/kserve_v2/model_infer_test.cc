#include "server/api/kserve_v2/model_infer.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/infer/embed.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server::kserve_v2 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using InputTensor = inference::ModelInferRequest::InferInputTensor;

std::shared_ptr<const ServedModel> Load(const std::string& name,
                                        const std::string& directory) {
  absl::StatusOr<std::shared_ptr<ServedModel>> model =
      LoadServedModel({name, directory});
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

std::shared_ptr<const ServedModel> Demo() {
  static const auto* const model =
      new std::shared_ptr<const ServedModel>(Load("demo", ""));
  return *model;
}

std::shared_ptr<const ServedModel> Reranker() {
  static const auto* const model = new std::shared_ptr<const ServedModel>(
      Load("rr", ATTNSERVE_SOURCE_DIR "/tests/golden/tasks/bert_rerank"));
  return *model;
}

std::shared_ptr<const ServedModel> Classifier() {
  static const auto* const model = new std::shared_ptr<const ServedModel>(
      Load("nli", ATTNSERVE_SOURCE_DIR "/tests/golden/tasks/xlmr_nli"));
  return *model;
}

void AddBytes(inference::ModelInferRequest* request, const std::string& name,
              std::vector<std::string> values) {
  InputTensor* input = request->add_inputs();
  input->set_name(name);
  input->set_datatype("BYTES");
  input->add_shape(static_cast<int64_t>(values.size()));
  for (const std::string& v : values) {
    input->mutable_contents()->add_bytes_contents(v);
  }
}

void AddFloats(inference::ModelInferRequest* request, const std::string& name,
               std::vector<int64_t> shape) {
  InputTensor* input = request->add_inputs();
  input->set_name(name);
  input->set_datatype("FP32");
  input->mutable_shape()->Add(shape.begin(), shape.end());
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  for (int64_t i = 0; i < n; ++i) {
    input->mutable_contents()->add_fp32_contents(0.01f * float(i % 17));
  }
}

void ExpectInvalid(const absl::Status& status,
                   const std::vector<std::string>& substrings) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  for (const std::string& s : substrings) {
    EXPECT_THAT(status.message(), HasSubstr(s));
  }
}

TEST(SignatureTest, ByTask) {
  const ModelSignature embed = SignatureOf(*Demo());
  ASSERT_EQ(embed.inputs.size(), 1u);
  EXPECT_EQ(embed.inputs[0].name, "text");
  EXPECT_EQ(embed.outputs[0].name, "embedding");
  EXPECT_THAT(embed.outputs[0].shape,
              ElementsAre(-1, Demo()->info.hidden_size));
  const ModelSignature rerank = SignatureOf(*Reranker());
  EXPECT_EQ(rerank.inputs[0].name, "query");
  EXPECT_THAT(rerank.inputs[0].shape, ElementsAre(1));
  EXPECT_EQ(rerank.outputs[0].name, "score");
  const ModelSignature classify = SignatureOf(*Classifier());
  EXPECT_EQ(classify.inputs[1].name, "text_pair");
  EXPECT_EQ(classify.outputs[0].name, "scores");
  EXPECT_THAT(classify.outputs[0].shape,
              ElementsAre(-1, int64_t(Classifier()->labels.size())));
  EXPECT_EQ(classify.outputs[1].name, "label");
  EXPECT_EQ(classify.outputs[1].datatype, "BYTES");
}

TEST(PrepareModelInferTest, EmbedTokenizesAsPrepareEmbed) {
  inference::ModelInferRequest request;
  AddBytes(&request, "text", {"hello world", ""});
  (*request.mutable_parameters())["pooling"].set_string_param("mean");
  (*request.mutable_parameters())["truncate"].set_bool_param(true);
  absl::StatusOr<PreparedModelInfer> prepared =
      PrepareModelInfer(request, Demo());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EmbedRequest embed;
  embed.texts = {"hello world", ""};
  embed.truncate = true;
  absl::StatusOr<PreparedEncode> expected = PrepareEmbed(embed, *Demo());
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(prepared->sequences.token_ids, expected->token_ids);
}

TEST(PrepareModelInferTest, EmbedErrors) {
  inference::ModelInferRequest missing;
  ExpectInvalid(PrepareModelInfer(missing, Demo()).status(),
                {"input text is missing"});
  inference::ModelInferRequest wrong_name;
  AddBytes(&wrong_name, "texts", {"a"});
  ExpectInvalid(PrepareModelInfer(wrong_name, Demo()).status(),
                {"input texts is not an input of demo", "expected text"});
  inference::ModelInferRequest pooling;
  AddBytes(&pooling, "text", {"a"});
  (*pooling.mutable_parameters())["pooling"].set_string_param("splade");
  ExpectInvalid(PrepareModelInfer(pooling, Demo()).status(),
                {"parameter pooling is \"splade\""});
  inference::ModelInferRequest unknown;
  AddBytes(&unknown, "text", {"a"});
  (*unknown.mutable_parameters())["normalise"].set_bool_param(true);
  ExpectInvalid(
      PrepareModelInfer(unknown, Demo()).status(),
      {"parameter normalise is not a parameter of demo", "normalize"});
  inference::ModelInferRequest dtype;
  AddBytes(&dtype, "text", {"a"});
  (*dtype.mutable_parameters())["compute_dtype"].set_string_param("FP16");
  ExpectInvalid(PrepareModelInfer(dtype, Demo()).status(),
                {"parameter compute_dtype is \"FP16\""});
  inference::ModelInferRequest output;
  AddBytes(&output, "text", {"a"});
  output.add_outputs()->set_name("pooled");
  ExpectInvalid(PrepareModelInfer(output, Demo()).status(),
                {"output pooled is not an output of demo", "embedding"});
}

TEST(PrepareModelInferTest, RerankAndClassifyInputs) {
  inference::ModelInferRequest rerank;
  AddBytes(&rerank, "text", {"a", "b"});
  ExpectInvalid(PrepareModelInfer(rerank, Reranker()).status(),
                {"input query is missing"});
  AddBytes(&rerank, "query", {"q1", "q2"});
  ExpectInvalid(PrepareModelInfer(rerank, Reranker()).status(),
                {"input query", "expected [1]"});
  rerank.mutable_inputs(1)->set_shape(0, 1);
  rerank.mutable_inputs(1)
      ->mutable_contents()
      ->mutable_bytes_contents()
      ->RemoveLast();
  absl::StatusOr<PreparedModelInfer> prepared =
      PrepareModelInfer(rerank, Reranker());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->sequences.token_ids.size(), 2u);  // (q1, a), (q1, b)

  inference::ModelInferRequest classify;
  AddBytes(&classify, "text", {"a", "b"});
  AddBytes(&classify, "text_pair", {"c"});
  ExpectInvalid(PrepareModelInfer(classify, Classifier()).status(),
                {"text_pair has 1 entries but text has 2"});
  classify.mutable_inputs(1)->mutable_contents()->add_bytes_contents("d");
  classify.mutable_inputs(1)->set_shape(0, 2);
  prepared = PrepareModelInfer(classify, Classifier());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->sequences.token_ids.size(), 2u);
  inference::ModelInferRequest query;
  AddBytes(&query, "query", {"a"});
  ExpectInvalid(PrepareModelInfer(query, Classifier()).status(),
                {"input query is not an input of nli"});
}

TEST(PrepareAttendTest, ConvertsAsAttnserveV1Attend) {
  inference::ModelInferRequest request;
  AddFloats(&request, "query", {1, 2, 3, 4});
  AddFloats(&request, "key", {1, 2, 5, 4});
  auto& parameters = *request.mutable_parameters();
  parameters["weighting"].set_string_param("HARD");
  parameters["top_k"].set_int64_param(2);
  parameters["scale"].set_string_param("0.5");
  absl::StatusOr<PreparedAttend> prepared =
      PrepareAttend(request, ConversionLimits());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->call.spec.weighting,
            core::AttentionSpec::Weighting::kHard);
  EXPECT_EQ(prepared->call.spec.top_k, 2u);
  EXPECT_EQ(prepared->call.spec.scale, 0.5f);
  EXPECT_THAT(prepared->call.inputs.value.shape(), ElementsAre(1, 2, 5, 4));
  EXPECT_FALSE(prepared->call.inputs.return_weights);
  EXPECT_FALSE(prepared->call.single_head);

  // Asking for weights by name computes them.
  request.add_outputs()->set_name("weights");
  prepared = PrepareAttend(request, ConversionLimits());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_TRUE(prepared->call.inputs.return_weights);
  EXPECT_FALSE(prepared->outputs.Wants("output"));
}

TEST(PrepareAttendTest, ErrorsNameTheInputOrParameter) {
  inference::ModelInferRequest rank2;
  AddFloats(&rank2, "query", {2, 4});
  ExpectInvalid(PrepareAttend(rank2, ConversionLimits()).status(),
                {"query.shape has rank 2"});
  inference::ModelInferRequest missing;
  AddFloats(&missing, "key", {1, 2, 4});
  ExpectInvalid(PrepareAttend(missing, ConversionLimits()).status(),
                {"input query is missing"});
  inference::ModelInferRequest mismatch;
  AddFloats(&mismatch, "query", {1, 2, 4});
  AddFloats(&mismatch, "key", {1, 2, 5});
  ExpectInvalid(PrepareAttend(mismatch, ConversionLimits()).status(), {"key"});
  inference::ModelInferRequest spec;
  AddFloats(&spec, "query", {1, 2, 4});
  (*spec.mutable_parameters())["weighting"].set_string_param("hard");
  ExpectInvalid(PrepareAttend(spec, ConversionLimits()).status(),
                {"parameter weighting is \"hard\""});
  (*spec.mutable_parameters())["weighting"].set_string_param("HARD");
  ExpectInvalid(PrepareAttend(spec, ConversionLimits()).status(), {"top_k"});
  inference::ModelInferRequest text;
  AddBytes(&text, "query", {"a"});
  ExpectInvalid(PrepareAttend(text, ConversionLimits()).status(),
                {"input query", "datatype is \"BYTES\""});
}

}  // namespace
}  // namespace attnserve::server::kserve_v2
