#ifndef ATTNSERVE_SERVER_INFER_ATTENTION_WORK_H_
#define ATTNSERVE_SERVER_INFER_ATTENTION_WORK_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/attention/attention.h"
#include "core/model/encoder_model.h"
#include "server/runtime/model_registry.h"
#include "server/scheduling/batch_former.h"

namespace attnserve::server {

// An Attend request in core terms. Inputs are rank 4; `single_head` records
// that the request used rank-3 tensors (the head axis is dropped again in the
// response).
struct AttendCall {
  core::AttentionSpec spec;
  core::AttentionInputs inputs;
  bool single_head = false;
};

// Work on the attention queue: one Attend or MultiHeadAttend call, one
// "sequence" whose cost is its query tokens (batch * q_len).
class AttentionWork : public ScheduledRequest {
 public:
  using ScheduledRequest::ScheduledRequest;
  // Computes this call alone into its outputs.
  virtual absl::Status Compute() = 0;
  core::AttentionOutputs outputs;
};

class AttendWork : public AttentionWork {
 public:
  // Calls with equal shapes, dtypes and spec share a batch key and may be
  // computed together, stacked along the batch axis. Calls whose result would
  // depend on their place in such a stack (a mask, HARD sampling: its random
  // stream is per batch item) get a key of their own.
  AttendWork(AttendCall call, absl::Time deadline);
  const AttendCall& call() const { return call_; }
  absl::Status Compute() override;

 private:
  const AttendCall call_;
};

class MultiHeadAttendWork : public AttentionWork {
 public:
  MultiHeadAttendWork(std::shared_ptr<const ServedModel> model,
                      core::MultiHeadAttendInputs inputs, absl::Time deadline);
  absl::Status Compute() override;

 private:
  const std::shared_ptr<const ServedModel> model_;
  const core::MultiHeadAttendInputs inputs_;
};

// The attention queue's compute function: a batch of AttendWork with one key
// runs as one stacked core::Attend call; anything else runs call by call.
absl::Status ComputeAttentionBatch(const Batch& batch);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFER_ATTENTION_WORK_H_
