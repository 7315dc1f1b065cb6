#include "server/api/kserve_v2/infer_tensors.h"

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::server::kserve_v2 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using InputTensor = inference::ModelInferRequest::InferInputTensor;

InputTensor* AddInput(inference::ModelInferRequest* request,
                      const std::string& name, const std::string& datatype,
                      std::vector<int64_t> shape) {
  InputTensor* input = request->add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  input->mutable_shape()->Add(shape.begin(), shape.end());
  return input;
}

// A request with BYTES input `text` holding `texts` in contents.
inference::ModelInferRequest TextRequest(std::vector<std::string> texts) {
  inference::ModelInferRequest request;
  InputTensor* text =
      AddInput(&request, "text", "BYTES", {static_cast<int64_t>(texts.size())});
  for (const std::string& t : texts) {
    text->mutable_contents()->add_bytes_contents(t);
  }
  return request;
}

std::string RawFloats(std::vector<float> values) {
  return std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * 4);
}

// The status of reading BYTES input `name` of `request`.
absl::Status BytesStatus(const inference::ModelInferRequest& request,
                         const std::string& name, bool single = false) {
  absl::StatusOr<InferInputs> inputs = InferInputs::Parse(request);
  if (!inputs.ok()) return inputs.status();
  return inputs->Bytes(name, single).status();
}

void ExpectInvalid(const absl::Status& status,
                   const std::vector<std::string>& substrings) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  for (const std::string& s : substrings) {
    EXPECT_THAT(status.message(), HasSubstr(s));
  }
}

TEST(InferInputsTest, ReadsBytesFromContentsAndFromRaw) {
  inference::ModelInferRequest request = TextRequest({"a", "", "\xff\x00z"});
  absl::StatusOr<InferInputs> inputs = InferInputs::Parse(request);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_THAT(*inputs->Bytes("text", false), ElementsAre("a", "", "\xff\x00z"));

  const std::vector<std::string> texts = {"hello", "", std::string("a\0b", 3)};
  inference::ModelInferRequest raw;
  AddInput(&raw, "text", "BYTES", {3});
  raw.add_raw_input_contents(EncodeRawBytes(texts));
  // 4-byte little-endian lengths, then the bytes.
  EXPECT_EQ(raw.raw_input_contents(0).substr(0, 9),
            std::string("\x05\x00\x00\x00hello", 9));
  absl::StatusOr<InferInputs> raw_inputs = InferInputs::Parse(raw);
  ASSERT_TRUE(raw_inputs.ok()) << raw_inputs.status();
  absl::StatusOr<std::vector<absl::string_view>> read =
      raw_inputs->Bytes("text", false);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(*read, ElementsAre(texts[0], texts[1], texts[2]));
}

TEST(InferInputsTest, MissingInputWrongDatatypeOrShapeNameTheInput) {
  ExpectInvalid(BytesStatus(TextRequest({"a"}), "query"),
                {"input query is missing"});
  inference::ModelInferRequest fp32;
  AddInput(&fp32, "text", "FP32", {1})
      ->mutable_contents()
      ->add_fp32_contents(1);
  ExpectInvalid(BytesStatus(fp32, "text"),
                {"input text", "datatype is \"FP32\"", "BYTES"});
  inference::ModelInferRequest matrix;
  AddInput(&matrix, "text", "BYTES", {2, 1});
  ExpectInvalid(BytesStatus(matrix, "text"),
                {"input text", "shape is [2, 1]", "[n]"});
  ExpectInvalid(BytesStatus(TextRequest({"a", "b"}), "text", /*single=*/true),
                {"input text", "[2]", "expected [1]"});
  inference::ModelInferRequest zero;
  AddInput(&zero, "text", "BYTES", {0});
  ExpectInvalid(BytesStatus(zero, "text"), {"input text", "shape[0] is 0"});
  inference::ModelInferRequest short_contents = TextRequest({"a", "b"});
  short_contents.mutable_inputs(0)->set_shape(0, 3);
  ExpectInvalid(BytesStatus(short_contents, "text"),
                {"input text", "bytes_contents has 2 elements, expected 3"});
}

TEST(InferInputsTest, RawBytesOfTheWrongLengthNameTheInput) {
  inference::ModelInferRequest request;
  AddInput(&request, "text", "BYTES", {2});
  // Two elements announced by the shape, one encoded.
  request.add_raw_input_contents(EncodeRawBytes({"one"}));
  ExpectInvalid(BytesStatus(request, "text"),
                {"input text", "holds 1 elements, expected 2"});
  // A length longer than what follows.
  std::string truncated = EncodeRawBytes({"hello", "world"});
  truncated.pop_back();
  request.set_raw_input_contents(0, truncated);
  ExpectInvalid(BytesStatus(request, "text"),
                {"input text", "element 1 says 5 bytes but 4 remain"});
  // A length cut short.
  request.set_raw_input_contents(0, EncodeRawBytes({"hello"}) + "\x01\x00");
  ExpectInvalid(BytesStatus(request, "text"),
                {"input text", "inside the 4-byte length of element 1"});
}

TEST(InferInputsTest, RequestFormIsChecked) {
  inference::ModelInferRequest twice = TextRequest({"a"});
  *twice.add_inputs() = twice.inputs(0);
  ExpectInvalid(InferInputs::Parse(twice).status(),
                {"input text is given twice"});

  inference::ModelInferRequest both = TextRequest({"a"});
  both.add_raw_input_contents(EncodeRawBytes({"a"}));
  ExpectInvalid(InferInputs::Parse(both).status(),
                {"input text sets contents", "raw_input_contents"});

  inference::ModelInferRequest count;
  AddInput(&count, "query", "BYTES", {1});
  AddInput(&count, "text", "BYTES", {1});
  count.add_raw_input_contents(EncodeRawBytes({"a"}));
  ExpectInvalid(
      InferInputs::Parse(count).status(),
      {"raw_input_contents has 1 entries, expected one per input (2)"});

  inference::ModelInferRequest tensor_parameter = TextRequest({"a"});
  (*tensor_parameter.mutable_inputs(0)->mutable_parameters())["pooling"]
      .set_string_param("mean");
  ExpectInvalid(InferInputs::Parse(tensor_parameter).status(),
                {"input text sets parameter pooling"});

  const inference::ModelInferRequest text = TextRequest({"a"});
  absl::StatusOr<InferInputs> inputs = InferInputs::Parse(text);
  ASSERT_TRUE(inputs.ok());
  EXPECT_TRUE(inputs->CheckNames({"text", "text_pair"}, "nli").ok());
  ExpectInvalid(inputs->CheckNames({"query", "texts"}, "rr"),
                {"input text is not an input of rr", "query, texts"});
}

TEST(InferInputsTest, FloatTensorsAsV1Tensors) {
  inference::ModelInferRequest request;
  AddInput(&request, "query", "FP32", {1, 2});
  AddInput(&request, "key", "FP16", {1, 2});
  request.add_raw_input_contents(RawFloats({1.5f, -2}));
  request.add_raw_input_contents(std::string("\x00\x3c\x00\xc0", 4));
  absl::StatusOr<InferInputs> inputs = InferInputs::Parse(request);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  v1::Tensor query, key;
  ASSERT_TRUE(inputs->Tensor("query", &query).ok());
  EXPECT_THAT(query.shape(), ElementsAre(1, 2));
  EXPECT_EQ(query.dtype(), v1::FP32);
  EXPECT_EQ(query.raw(), RawFloats({1.5f, -2}));
  ASSERT_TRUE(inputs->Tensor("key", &key).ok());
  EXPECT_EQ(key.dtype(), v1::FP16);

  // Raw contents of the wrong length.
  request.set_raw_input_contents(0, RawFloats({1.5f}));
  inputs = InferInputs::Parse(request);
  ExpectInvalid(inputs->Tensor("query", &query),
                {"input query", "raw_input_contents has 4 bytes, expected 8",
                 "[1, 2] of FP32"});
  request.set_raw_input_contents(0, RawFloats({1, 2}) + "x");
  inputs = InferInputs::Parse(request);
  ExpectInvalid(inputs->Tensor("query", &query),
                {"input query", "has 9 bytes, expected 8"});

  // Contents: FP32 only, with one element per position.
  inference::ModelInferRequest contents;
  InputTensor* value = AddInput(&contents, "value", "FP32", {3});
  value->mutable_contents()->add_fp32_contents(1);
  inputs = InferInputs::Parse(contents);
  ExpectInvalid(inputs->Tensor("value", &query),
                {"input value", "fp32_contents has 1 elements, expected 3"});
  value->set_datatype("FP16");
  inputs = InferInputs::Parse(contents);
  ExpectInvalid(inputs->Tensor("value", &query),
                {"input value", "datatype is \"FP16\"", "raw_input_contents"});
  value->set_datatype("INT64");
  inputs = InferInputs::Parse(contents);
  ExpectInvalid(inputs->Tensor("value", &query),
                {"input value", "datatype is \"INT64\""});
}

TEST(InferInputsTest, LengthsAreNonNegativeInt32) {
  inference::ModelInferRequest request;
  InputTensor* lengths = AddInput(&request, "key_lengths", "INT32", {2});
  lengths->mutable_contents()->add_int_contents(3);
  lengths->mutable_contents()->add_int_contents(-1);
  absl::StatusOr<InferInputs> inputs = InferInputs::Parse(request);
  ExpectInvalid(inputs->Lengths("key_lengths").status(),
                {"input key_lengths[1] is -1"});
  lengths->mutable_contents()->set_int_contents(1, 2);
  inputs = InferInputs::Parse(request);
  EXPECT_THAT(*inputs->Lengths("key_lengths"), ElementsAre(3u, 2u));
  lengths->set_datatype("INT64");
  inputs = InferInputs::Parse(request);
  ExpectInvalid(inputs->Lengths("key_lengths").status(),
                {"input key_lengths", "INT32"});
}

TEST(InferParametersTest, TypedReadsAndUnknownNames) {
  inference::ModelInferRequest request;
  auto& parameters = *request.mutable_parameters();
  parameters["normalize"].set_bool_param(true);
  parameters["top_k"].set_int64_param(4);
  parameters["scale"].set_string_param("0.125");
  parameters["global_positions"].set_string_param("0, 7,12");
  parameters["pooling"].set_string_param("mean");
  InferParameters p(request);
  bool normalize = false, causal = true;
  uint32_t top_k = 0;
  float scale = 0;
  std::vector<uint32_t> positions;
  absl::string_view pooling;
  ASSERT_TRUE(p.Get("normalize", &normalize).ok());
  ASSERT_TRUE(p.Get("top_k", &top_k).ok());
  ASSERT_TRUE(p.Get("scale", &scale).ok());
  ASSERT_TRUE(p.Get("global_positions", &positions).ok());
  ASSERT_TRUE(p.Get("causal", &causal).ok());  // absent: unchanged
  EXPECT_TRUE(normalize);
  EXPECT_EQ(top_k, 4u);
  EXPECT_EQ(scale, 0.125f);
  EXPECT_THAT(positions, ElementsAre(0u, 7u, 12u));
  EXPECT_TRUE(causal);
  // pooling was never asked for.
  ExpectInvalid(p.CheckAllRead("tiny"),
                {"parameter pooling is not a parameter of tiny", "top_k"});
  ASSERT_TRUE(p.Get("pooling", &pooling).ok());
  EXPECT_EQ(pooling, "mean");
  EXPECT_TRUE(p.CheckAllRead("tiny").ok());
}

TEST(InferParametersTest, WrongTypesAndRangesNameTheParameter) {
  inference::ModelInferRequest request;
  auto& parameters = *request.mutable_parameters();
  parameters["normalize"].set_string_param("true");
  parameters["top_k"].set_int64_param(-1);
  parameters["window_left"].set_int64_param(int64_t{1} << 40);
  parameters["scale"].set_string_param("abc");
  parameters["gaussian_sigma"].set_string_param("inf");
  parameters["global_positions"].set_string_param("1,x");
  parameters["empty"];
  InferParameters p(request);
  bool b = false;
  uint32_t u = 0;
  float f = 0;
  std::vector<uint32_t> v;
  ExpectInvalid(p.Get("normalize", &b),
                {"parameter normalize is a string, expected a bool"});
  ExpectInvalid(p.Get("top_k", &u), {"parameter top_k is -1"});
  ExpectInvalid(p.Get("window_left", &u), {"parameter window_left", "at most"});
  ExpectInvalid(p.Get("scale", &f), {"parameter scale is \"abc\"", "number"});
  ExpectInvalid(p.Get("gaussian_sigma", &f),
                {"parameter gaussian_sigma", "finite"});
  ExpectInvalid(p.Get("global_positions", &v),
                {"parameter global_positions has \"x\""});
  ExpectInvalid(p.Get("empty", &b), {"parameter empty is empty"});
}

TEST(InferOutputsTest, RequestedOutputsAndEncodings) {
  inference::ModelInferRequest request = TextRequest({"a"});
  absl::StatusOr<InferOutputs> all = InferOutputs::Parse(
      request, {"scores", "label"}, {"scores", "label"}, "m");
  ASSERT_TRUE(all.ok());
  inference::ModelInferResponse response;
  const std::vector<float> scores = {0.25f, 0.75f};
  all->AddFp32("scores", {1, 2}, scores, &response);
  all->AddBytes("label", {1}, {std::string("pos")}, &response);
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.raw_output_contents_size(), 0);
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(1, 2));
  EXPECT_THAT(response.outputs(0).contents().fp32_contents(),
              ElementsAre(0.25f, 0.75f));
  EXPECT_THAT(response.outputs(1).contents().bytes_contents(),
              ElementsAre("pos"));

  // Raw inputs: raw outputs, only those asked for.
  inference::ModelInferRequest raw;
  AddInput(&raw, "text", "BYTES", {1});
  raw.add_raw_input_contents(EncodeRawBytes({"a"}));
  raw.add_outputs()->set_name("label");
  absl::StatusOr<InferOutputs> label =
      InferOutputs::Parse(raw, {"scores", "label"}, {"scores", "label"}, "m");
  ASSERT_TRUE(label.ok());
  inference::ModelInferResponse raw_response;
  label->AddFp32("scores", {1, 2}, scores, &raw_response);
  label->AddBytes("label", {1}, {std::string("pos")}, &raw_response);
  ASSERT_EQ(raw_response.outputs_size(), 1);
  EXPECT_EQ(raw_response.outputs(0).name(), "label");
  EXPECT_FALSE(raw_response.outputs(0).has_contents());
  EXPECT_THAT(raw_response.raw_output_contents(),
              ElementsAre(std::string("\x03\x00\x00\x00pos", 7)));

  raw.add_outputs()->set_name("logits");
  ExpectInvalid(
      InferOutputs::Parse(raw, {"scores", "label"}, {}, "nli").status(),
      {"output logits is not an output of nli", "scores, label"});
  raw.mutable_outputs(1)->set_name("label");
  ExpectInvalid(
      InferOutputs::Parse(raw, {"scores", "label"}, {}, "nli").status(),
      {"output label is asked for twice"});
}

}  // namespace
}  // namespace attnserve::server::kserve_v2
