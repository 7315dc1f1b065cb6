#include "server/infer/attention_work.h"

#include <atomic>
#include <cstring>
#include <vector>

#include "absl/hash/hash.h"
#include "core/base/status_macros.h"

namespace attnserve::server {
namespace {

// Keys of calls that must run alone: odd numbers never equal to a shape hash
// (those are made even below).
uint64_t UniqueKey() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(2);
}

uint64_t AttendKey(const AttendCall& call) {
  const core::AttentionSpec& s = call.spec;
  const core::AttentionInputs& in = call.inputs;
  if (!in.mask.empty() ||
      (s.weighting == core::AttentionSpec::Weighting::kHard && s.sample)) {
    return UniqueKey();
  }
  auto shape = [](const core::Tensor& t) {
    return std::vector<int64_t>(t.shape().begin(), t.shape().end());
  };
  const size_t key = absl::HashOf(
      shape(in.query), shape(in.key), shape(in.value),
      static_cast<int>(in.query.dtype()), static_cast<int>(in.compute_dtype),
      static_cast<int>(in.output_dtype), in.return_weights,
      in.key_lengths.empty(), call.single_head, static_cast<int>(s.weighting),
      s.top_k, static_cast<int>(s.scope), s.window_left, s.window_right,
      s.global_positions, s.gaussian_sigma, s.causal, s.scale);
  return static_cast<uint64_t>(key) << 1;
}

// Stacks the tensor of each call along axis 0: [B_i, ...] -> [sum B_i, ...].
core::Tensor Stack(const std::vector<const core::Tensor*>& parts) {
  std::vector<int64_t> shape(parts[0]->shape().begin(),
                             parts[0]->shape().end());
  shape[0] = 0;
  for (const core::Tensor* t : parts) shape[0] += t->dim(0);
  core::Tensor stacked(parts[0]->dtype(), shape);
  char* out = static_cast<char*>(stacked.raw_data());
  for (const core::Tensor* t : parts) {
    std::memcpy(out, t->raw_data(), t->num_bytes());
    out += t->num_bytes();
  }
  return stacked;
}

// Rows [begin, begin + count) of axis 0.
core::Tensor Slice(const core::Tensor& t, int64_t begin, int64_t count) {
  std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
  const size_t row_bytes = t.num_bytes() / static_cast<size_t>(shape[0]);
  shape[0] = count;
  core::Tensor slice(t.dtype(), shape);
  std::memcpy(slice.raw_data(),
              static_cast<const char*>(t.raw_data()) + begin * row_bytes,
              slice.num_bytes());
  return slice;
}

absl::Status ComputeStacked(const Batch& batch) {
  std::vector<AttendWork*> works;
  std::vector<const core::Tensor*> queries, keys, values;
  core::AttentionInputs in;
  for (const BatchEntry& entry : batch.entries()) {
    auto* work = static_cast<AttendWork*>(entry.request);
    works.push_back(work);
    queries.push_back(&work->call().inputs.query);
    keys.push_back(&work->call().inputs.key);
    values.push_back(&work->call().inputs.value);
    const auto& lengths = work->call().inputs.key_lengths;
    in.key_lengths.insert(in.key_lengths.end(), lengths.begin(), lengths.end());
  }
  const AttendCall& first = works[0]->call();
  in.query = Stack(queries);
  in.key = Stack(keys);
  in.value = Stack(values);
  in.compute_dtype = first.inputs.compute_dtype;
  in.output_dtype = first.inputs.output_dtype;
  in.return_weights = first.inputs.return_weights;
  core::AttentionOutputs stacked;
  // Each call's values were checked on its gRPC thread (AttendCallFromProto).
  RETURN_IF_ERROR(core::AttendUncheckedValues(first.spec, in, &stacked));
  int64_t row = 0;
  for (AttendWork* work : works) {
    const int64_t rows = work->call().inputs.query.dim(0);
    work->outputs.output = Slice(stacked.output, row, rows);
    if (in.return_weights)
      work->outputs.weights = Slice(stacked.weights, row, rows);
    row += rows;
  }
  return absl::OkStatus();
}

// True when every entry is an Attend call with the first one's shapes (equal
// batch keys promise it; a hash collision must not corrupt memory).
bool Stackable(const Batch& batch) {
  if (batch.size() < 2) return false;
  auto shapes = [](const BatchEntry& entry) {
    const core::AttentionInputs& in =
        static_cast<AttendWork*>(entry.request)->call().inputs;
    return std::vector<absl::Span<const int64_t>>{
        in.query.shape(), in.key.shape(), in.value.shape()};
  };
  const auto first = shapes(batch.entries()[0]);
  for (const BatchEntry& entry : batch.entries()) {
    if (dynamic_cast<AttendWork*>(entry.request) == nullptr ||
        shapes(entry) != first) {
      return false;
    }
  }
  return true;
}

}  // namespace

AttendWork::AttendWork(AttendCall call, absl::Time deadline)
    : AttentionWork({call.inputs.query.dim(0) * call.inputs.query.dim(2)},
                    deadline, nullptr, AttendKey(call)),
      call_(std::move(call)) {}

absl::Status AttendWork::Compute() {
  // The values were checked on the gRPC thread (AttendCallFromProto): the
  // compute worker does not scan them again.
  return core::AttendUncheckedValues(call_.spec, call_.inputs, &outputs);
}

MultiHeadAttendWork::MultiHeadAttendWork(
    std::shared_ptr<const ServedModel> model,
    core::MultiHeadAttendInputs inputs, absl::Time deadline)
    : AttentionWork({inputs.hidden.dim(0) * inputs.hidden.dim(1)}, deadline,
                    nullptr, UniqueKey()),
      model_(std::move(model)),
      inputs_(std::move(inputs)) {}

absl::Status MultiHeadAttendWork::Compute() {
  ASSIGN_OR_RETURN(outputs, model_->encoder->MultiHeadAttend(inputs_));
  return absl::OkStatus();
}

absl::Status ComputeAttentionBatch(const Batch& batch) {
  if (Stackable(batch)) return ComputeStacked(batch);
  for (const BatchEntry& entry : batch.entries()) {
    RETURN_IF_ERROR(static_cast<AttentionWork*>(entry.request)->Compute());
  }
  return absl::OkStatus();
}

}  // namespace attnserve::server
