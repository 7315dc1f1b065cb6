#include "server/api/kserve_v2/infer_tensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/base/shape_string.h"
#include "core/base/status_macros.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "raw contents are little-endian and are copied as they are");

namespace attnserve::server::kserve_v2 {
namespace {

using InputTensor = inference::ModelInferRequest::InferInputTensor;

// The element count of `tensor`'s shape; every dimension >= 1.
absl::StatusOr<int64_t> ElementCount(const InputTensor& tensor) {
  if (tensor.shape_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", tensor.name(),
                     ": shape is empty, expected at least one dimension"));
  }
  int64_t n = 1;
  for (int i = 0; i < tensor.shape_size(); ++i) {
    const int64_t d = tensor.shape(i);
    if (d < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", tensor.name(), ": shape[", i, "] is ", d,
                       ", expected >= 1 (empty tensors are not accepted)"));
    }
    if (__builtin_mul_overflow(n, d, &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", tensor.name(), ": shape ",
                       core::ShapeString(std::vector<int64_t>(
                           tensor.shape().begin(), tensor.shape().end())),
                       " has more elements than any request can hold"));
    }
  }
  return n;
}

std::string ShapeOf(const InputTensor& tensor) {
  return core::ShapeString(
      std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end()));
}

absl::Status WrongDatatype(const InputTensor& tensor,
                           absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("input ", tensor.name(), ": datatype is \"",
                   tensor.datatype(), "\", expected ", expected));
}

const char* ParameterType(const inference::InferParameter& p) {
  switch (p.parameter_choice_case()) {
    case inference::InferParameter::kBoolParam:
      return "a bool";
    case inference::InferParameter::kInt64Param:
      return "an int64";
    case inference::InferParameter::kStringParam:
      return "a string";
    default:
      return "empty";
  }
}

absl::Status WrongParameterType(absl::string_view name,
                                const inference::InferParameter& p,
                                absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      "parameter ", name, " is ", ParameterType(p), ", expected ", expected));
}

}  // namespace

absl::StatusOr<InferInputs> InferInputs::Parse(
    const inference::ModelInferRequest& request) {
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raw_input_contents has ", request.raw_input_contents_size(),
        " entries, expected one per input (", request.inputs_size(), ")"));
  }
  std::vector<Input> inputs;
  std::set<absl::string_view> names;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const InputTensor& tensor = request.inputs(i);
    if (tensor.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("inputs[", i, "] has no name"));
    }
    if (!names.insert(tensor.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", tensor.name(), " is given twice"));
    }
    if (!tensor.parameters().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", tensor.name(), " sets parameter ",
          tensor.parameters().begin()->first,
          "; attnserve takes parameters on the request, not on its inputs"));
    }
    if (raw && tensor.has_contents()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", tensor.name(),
                       " sets contents while the request sets "
                       "raw_input_contents; use one of them"));
    }
    inputs.push_back({&tensor, raw ? &request.raw_input_contents(i) : nullptr});
  }
  return InferInputs(std::move(inputs));
}

absl::Status InferInputs::CheckNames(absl::Span<const absl::string_view> known,
                                     absl::string_view model) const {
  for (const Input& input : inputs_) {
    if (std::find(known.begin(), known.end(), input.tensor->name()) ==
        known.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", input.tensor->name(), " is not an input of ",
                       model, ", expected ", absl::StrJoin(known, ", ")));
    }
  }
  return absl::OkStatus();
}

bool InferInputs::Has(absl::string_view name) const { return Find(name).ok(); }

absl::StatusOr<const InferInputs::Input*> InferInputs::Find(
    absl::string_view name) const {
  for (const Input& input : inputs_) {
    if (input.tensor->name() == name) return &input;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("input ", name, " is missing"));
}

absl::StatusOr<std::vector<absl::string_view>> InferInputs::Bytes(
    absl::string_view name, bool single) const {
  ASSIGN_OR_RETURN(const Input* input, Find(name));
  const InputTensor& tensor = *input->tensor;
  if (tensor.datatype() != "BYTES") return WrongDatatype(tensor, "BYTES");
  if (tensor.shape_size() != 1 || (single && tensor.shape(0) != 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", name, ": shape is ", ShapeOf(tensor),
                     ", expected ", single ? "[1]" : "[n]"));
  }
  ASSIGN_OR_RETURN(const int64_t n, ElementCount(tensor));
  std::vector<absl::string_view> values;
  if (input->raw == nullptr) {
    const auto& contents = tensor.contents().bytes_contents();
    if (contents.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", name, ": contents.bytes_contents has ", contents.size(),
          " elements, expected ", n, " for shape ", ShapeOf(tensor)));
    }
    values.assign(contents.begin(), contents.end());
    return values;
  }
  absl::string_view raw = *input->raw;
  while (!raw.empty()) {
    uint32_t length = 0;
    if (raw.size() < 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", name,
                       ": raw_input_contents ends inside the 4-byte "
                       "length of element ",
                       values.size()));
    }
    std::memcpy(&length, raw.data(), 4);
    raw.remove_prefix(4);
    if (length > raw.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", name, ": raw_input_contents element ", values.size(),
          " says ", length, " bytes but ", raw.size(), " remain"));
    }
    values.push_back(raw.substr(0, length));
    raw.remove_prefix(length);
  }
  if (static_cast<int64_t>(values.size()) != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input ", name, ": raw_input_contents holds ", values.size(),
        " elements, expected ", n, " for shape ", ShapeOf(tensor),
        " (each a 4-byte little-endian length and its bytes)"));
  }
  return values;
}

absl::Status InferInputs::Tensor(absl::string_view name,
                                 v1::Tensor* out) const {
  ASSIGN_OR_RETURN(const Input* input, Find(name));
  const InputTensor& tensor = *input->tensor;
  out->Clear();
  out->mutable_shape()->Add(tensor.shape().begin(), tensor.shape().end());
  if (tensor.datatype() == "FP32") {
    out->set_dtype(v1::FP32);
  } else if (input->raw != nullptr && tensor.datatype() == "FP16") {
    out->set_dtype(v1::FP16);
  } else if (input->raw != nullptr && tensor.datatype() == "BF16") {
    out->set_dtype(v1::BF16);
  } else {
    return WrongDatatype(tensor, input->raw != nullptr
                                     ? "FP32, FP16 or BF16"
                                     : "FP32 (FP16 and BF16 in "
                                       "raw_input_contents)");
  }
  ASSIGN_OR_RETURN(const int64_t n, ElementCount(tensor));
  if (input->raw != nullptr) {
    const size_t element_size = out->dtype() == v1::FP32 ? 4 : 2;
    if (input->raw->size() / element_size != static_cast<uint64_t>(n) ||
        input->raw->size() % element_size != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", name, ": raw_input_contents has ", input->raw->size(),
          " bytes, expected ", n * element_size, " for shape ", ShapeOf(tensor),
          " of ", tensor.datatype()));
    }
    out->set_raw(*input->raw);
    return absl::OkStatus();
  }
  const auto& values = tensor.contents().fp32_contents();
  if (values.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input ", name, ": contents.fp32_contents has ", values.size(),
        " elements, expected ", n, " for shape ", ShapeOf(tensor)));
  }
  *out->mutable_values() = values;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> InferInputs::Lengths(
    absl::string_view name) const {
  ASSIGN_OR_RETURN(const Input* input, Find(name));
  const InputTensor& tensor = *input->tensor;
  if (tensor.datatype() != "INT32") return WrongDatatype(tensor, "INT32");
  if (tensor.shape_size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input ", name, ": shape is ", ShapeOf(tensor), ", expected [batch]"));
  }
  ASSIGN_OR_RETURN(const int64_t n, ElementCount(tensor));
  std::vector<int32_t> values;
  if (input->raw != nullptr) {
    if (input->raw->size() != static_cast<uint64_t>(n) * 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", name, ": raw_input_contents has ",
                       input->raw->size(), " bytes, expected ", n * 4,
                       " for shape ", ShapeOf(tensor), " of INT32"));
    }
    values.resize(n);
    std::memcpy(values.data(), input->raw->data(), n * 4);
  } else {
    const auto& contents = tensor.contents().int_contents();
    if (contents.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", name, ": contents.int_contents has ", contents.size(),
          " elements, expected ", n, " for shape ", ShapeOf(tensor)));
    }
    values.assign(contents.begin(), contents.end());
  }
  std::vector<uint32_t> lengths;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", name, "[", i, "] is ", values[i], ", expected >= 0"));
    }
    lengths.push_back(static_cast<uint32_t>(values[i]));
  }
  return lengths;
}

const inference::InferParameter* InferParameters::Find(absl::string_view name) {
  asked_.insert(std::string(name));
  auto it = parameters_.find(std::string(name));
  return it == parameters_.end() ? nullptr : &it->second;
}

absl::Status InferParameters::Get(absl::string_view name, bool* value) {
  const inference::InferParameter* p = Find(name);
  if (p == nullptr) return absl::OkStatus();
  if (!p->has_bool_param()) return WrongParameterType(name, *p, "a bool");
  *value = p->bool_param();
  return absl::OkStatus();
}

absl::Status InferParameters::Get(absl::string_view name, uint32_t* value) {
  uint64_t wide = *value;
  RETURN_IF_ERROR(Get(name, &wide));
  if (wide > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter ", name, " is ", wide, ", expected at most ",
                     std::numeric_limits<uint32_t>::max()));
  }
  *value = static_cast<uint32_t>(wide);
  return absl::OkStatus();
}

absl::Status InferParameters::Get(absl::string_view name, uint64_t* value) {
  const inference::InferParameter* p = Find(name);
  if (p == nullptr) return absl::OkStatus();
  if (!p->has_int64_param()) return WrongParameterType(name, *p, "an int64");
  if (p->int64_param() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameter ", name, " is ", p->int64_param(), ", expected >= 0"));
  }
  *value = static_cast<uint64_t>(p->int64_param());
  return absl::OkStatus();
}

absl::Status InferParameters::Get(absl::string_view name, float* value) {
  const inference::InferParameter* p = Find(name);
  if (p == nullptr) return absl::OkStatus();
  float parsed = 0;
  if (p->has_int64_param()) {
    parsed = static_cast<float>(p->int64_param());
  } else if (!p->has_string_param() ||
             !absl::SimpleAtof(p->string_param(), &parsed)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameter ", name, " is ",
        p->has_string_param() ? absl::StrCat("\"", p->string_param(), "\"")
                              : ParameterType(*p),
        ", expected a number (an int64, or a decimal string such as "
        "\"0.125\")"));
  }
  if (!std::isfinite(parsed)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameter ", name, " is ", parsed, ", expected a finite number"));
  }
  *value = parsed;
  return absl::OkStatus();
}

absl::Status InferParameters::Get(absl::string_view name,
                                  absl::string_view* value) {
  const inference::InferParameter* p = Find(name);
  if (p == nullptr) return absl::OkStatus();
  if (!p->has_string_param()) return WrongParameterType(name, *p, "a string");
  *value = p->string_param();
  return absl::OkStatus();
}

absl::Status InferParameters::Get(absl::string_view name,
                                  std::vector<uint32_t>* value) {
  const inference::InferParameter* p = Find(name);
  if (p == nullptr) return absl::OkStatus();
  if (p->has_int64_param()) {
    uint32_t one = 0;
    RETURN_IF_ERROR(Get(name, &one));
    *value = {one};
    return absl::OkStatus();
  }
  if (!p->has_string_param()) {
    return WrongParameterType(name, *p, "a string of comma-separated integers");
  }
  std::vector<uint32_t> parsed;
  for (absl::string_view item :
       absl::StrSplit(p->string_param(), ',', absl::SkipWhitespace())) {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(item), &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter ", name, " has \"", item,
                       "\", expected comma-separated integers >= 0"));
    }
    parsed.push_back(n);
  }
  *value = std::move(parsed);
  return absl::OkStatus();
}

absl::Status InferParameters::CheckAllRead(absl::string_view model) const {
  for (const auto& [name, parameter] : parameters_) {
    if (asked_.count(name) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter ", name, " is not a parameter of ", model,
                       asked_.empty() ? ", which takes none" : "; it takes ",
                       absl::StrJoin(asked_, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<InferOutputs> InferOutputs::Parse(
    const inference::ModelInferRequest& request,
    absl::Span<const absl::string_view> available,
    absl::Span<const absl::string_view> defaults, absl::string_view model) {
  InferOutputs outputs;
  outputs.raw_ = request.raw_input_contents_size() > 0;
  for (const auto& output : request.outputs()) {
    if (std::find(available.begin(), available.end(), output.name()) ==
        available.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("output ", output.name(), " is not an output of ", model,
                       ", expected ", absl::StrJoin(available, ", ")));
    }
    if (!output.parameters().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("output ", output.name(), " sets parameter ",
                       output.parameters().begin()->first,
                       "; attnserve takes no output parameters"));
    }
    if (!outputs.wanted_.insert(output.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("output ", output.name(), " is asked for twice"));
    }
  }
  if (request.outputs().empty())
    outputs.wanted_.insert(defaults.begin(), defaults.end());
  return outputs;
}

bool InferOutputs::Wants(absl::string_view name) const {
  return wanted_.count(name) > 0;
}

void InferOutputs::AddFp32(absl::string_view name, std::vector<int64_t> shape,
                           absl::Span<const float> values,
                           inference::ModelInferResponse* response) const {
  if (!Wants(name)) return;
  auto* out = response->add_outputs();
  out->set_name(std::string(name));
  out->set_datatype("FP32");
  out->mutable_shape()->Add(shape.begin(), shape.end());
  if (raw_) {
    response->add_raw_output_contents()->assign(
        reinterpret_cast<const char*>(values.data()), values.size() * 4);
  } else {
    out->mutable_contents()->mutable_fp32_contents()->Add(values.begin(),
                                                          values.end());
  }
}

void InferOutputs::AddBytes(absl::string_view name, std::vector<int64_t> shape,
                            absl::Span<const std::string> values,
                            inference::ModelInferResponse* response) const {
  if (!Wants(name)) return;
  auto* out = response->add_outputs();
  out->set_name(std::string(name));
  out->set_datatype("BYTES");
  out->mutable_shape()->Add(shape.begin(), shape.end());
  if (raw_) {
    *response->add_raw_output_contents() = EncodeRawBytes(values);
  } else {
    out->mutable_contents()->mutable_bytes_contents()->Add(values.begin(),
                                                           values.end());
  }
}

std::string EncodeRawBytes(absl::Span<const std::string> values) {
  std::string raw;
  for (const std::string& value : values) {
    const uint32_t length = static_cast<uint32_t>(value.size());
    raw.append(reinterpret_cast<const char*>(&length), 4);
    raw.append(value);
  }
  return raw;
}

}  // namespace attnserve::server::kserve_v2
