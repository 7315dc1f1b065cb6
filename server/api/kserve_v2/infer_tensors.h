#ifndef ATTNSERVE_SERVER_API_KSERVE_V2_INFER_TENSORS_H_
#define ATTNSERVE_SERVER_API_KSERVE_V2_INFER_TENSORS_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attnserve/v1/attnserve.pb.h"
#include "kserve/v2/grpc_predict_v2.pb.h"

// The Open Inference Protocol's tensors and parameters in attnserve terms:
// reading a ModelInferRequest's inputs and parameters, writing a
// ModelInferResponse's outputs. Errors are INVALID_ARGUMENT naming the input,
// output or parameter.
namespace attnserve::server::kserve_v2 {

// The inputs of a ModelInferRequest by name. Elements are in the input's
// `contents` (the field of its datatype) or, when the request sets
// raw_input_contents, in the entry of the same index: flattened row-major,
// little-endian; BYTES elements each as a 4-byte little-endian length and the
// bytes (as Triton encodes them).
class InferInputs {
 public:
  // Checks the form: every input named once; raw_input_contents empty or one
  // entry per input, and then no input sets `contents`; no input sets
  // tensor parameters (attnserve reads the request's). `request` must outlive
  // the result.
  static absl::StatusOr<InferInputs> Parse(
      const inference::ModelInferRequest& request);

  // OK when every input is one of `known`; else names the first that is not.
  absl::Status CheckNames(absl::Span<const absl::string_view> known,
                          absl::string_view model) const;
  bool Has(absl::string_view name) const;

  // BYTES input `name`, shape [n] with n >= 1 (exactly [1] when `single`):
  // views of its elements in the request. Missing is INVALID_ARGUMENT.
  absl::StatusOr<std::vector<absl::string_view>> Bytes(absl::string_view name,
                                                       bool single) const;
  // FP32 input `name` (FP16 and BF16 in raw_input_contents too) as an
  // attnserve.v1 tensor: shape, dtype, and the elements (values or raw; the
  // count against the shape is checked where the v1 tensor is converted).
  absl::Status Tensor(absl::string_view name, v1::Tensor* out) const;
  // INT32 input `name`, rank 1, every element >= 0.
  absl::StatusOr<std::vector<uint32_t>> Lengths(absl::string_view name) const;

 private:
  struct Input {
    const inference::ModelInferRequest::InferInputTensor* tensor;
    const std::string* raw;  // its raw_input_contents entry, or null
  };
  explicit InferInputs(std::vector<Input> inputs)
      : inputs_(std::move(inputs)) {}
  absl::StatusOr<const Input*> Find(absl::string_view name) const;

  std::vector<Input> inputs_;
};

// The request's parameters, read by name into typed fields; a parameter of
// the wrong type or range is INVALID_ARGUMENT naming it. Absent: the field
// keeps its value (the default).
class InferParameters {
 public:
  explicit InferParameters(const inference::ModelInferRequest& request)
      : parameters_(request.parameters()) {}

  absl::Status Get(absl::string_view name, bool* value);
  absl::Status Get(absl::string_view name, uint32_t* value);
  absl::Status Get(absl::string_view name, uint64_t* value);
  // An int64 or a decimal string ("0.125"); must be finite.
  absl::Status Get(absl::string_view name, float* value);
  // A view into the request.
  absl::Status Get(absl::string_view name, absl::string_view* value);
  // A string of comma-separated integers >= 0 ("0,7,12"), or one int64.
  absl::Status Get(absl::string_view name, std::vector<uint32_t>* value);

  // OK when every parameter of the request was asked for by a Get; else
  // names the first that was not and lists those asked for.
  absl::Status CheckAllRead(absl::string_view model) const;

 private:
  // The parameter, or null when absent; records that it was asked for.
  const inference::InferParameter* Find(absl::string_view name);

  const google::protobuf::Map<std::string, inference::InferParameter>&
      parameters_;
  std::set<std::string, std::less<>> asked_;
};

// The outputs a request asks for, written into its response in the model's
// order: raw_output_contents when the request used raw_input_contents (as
// KServe does), else `contents`.
class InferOutputs {
 public:
  // Checks `request.outputs` against `available` (an unknown or repeated
  // name is INVALID_ARGUMENT naming it; output parameters are refused). None
  // asked for: every output of `defaults`.
  static absl::StatusOr<InferOutputs> Parse(
      const inference::ModelInferRequest& request,
      absl::Span<const absl::string_view> available,
      absl::Span<const absl::string_view> defaults, absl::string_view model);

  bool Wants(absl::string_view name) const;

  // Appends output `name` when it is wanted. `values` has prod(shape)
  // elements.
  void AddFp32(absl::string_view name, std::vector<int64_t> shape,
               absl::Span<const float> values,
               inference::ModelInferResponse* response) const;
  void AddBytes(absl::string_view name, std::vector<int64_t> shape,
                absl::Span<const std::string> values,
                inference::ModelInferResponse* response) const;

 private:
  std::set<std::string, std::less<>> wanted_;
  bool raw_ = false;
};

// BYTES elements in the raw encoding: each a 4-byte little-endian length,
// then its bytes.
std::string EncodeRawBytes(absl::Span<const std::string> values);

}  // namespace attnserve::server::kserve_v2

#endif  // ATTNSERVE_SERVER_API_KSERVE_V2_INFER_TENSORS_H_
