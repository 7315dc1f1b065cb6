#include "server/metrics/scheduler_metrics.h"

namespace attnserve::server {

SchedulerMetrics::SchedulerMetrics(Metrics* metrics, const std::string& model)
    : queue_depth_(metrics->QueueDepth(model)),
      queue_duration_(metrics->QueueDuration(model)),
      compute_duration_(metrics->ComputeDuration(model)),
      batch_size_(metrics->BatchSize(model)),
      batch_tokens_(metrics->BatchTokens(model)),
      tokens_(metrics->Tokens(model)) {
  for (int i = 0; i < kNumShedReasons; ++i) {
    shed_[i] =
        &metrics->Shed(model, ShedReasonName(static_cast<ShedReason>(i)));
  }
}

void SchedulerMetrics::OnQueueDepth(int64_t queued_sequences) {
  queue_depth_.Set(static_cast<double>(queued_sequences));
}

void SchedulerMetrics::OnBatchFormed(const Batch& batch) {
  for (const BatchEntry& entry : batch.entries()) {
    queue_duration_.Observe(absl::ToDoubleSeconds(entry.queue_time));
  }
  batch_size_.Observe(batch.num_requests());
  batch_tokens_.Observe(static_cast<double>(batch.total_tokens()));
}

void SchedulerMetrics::OnBatchComputed(const Batch& batch,
                                       absl::Duration compute_time,
                                       const absl::Status& status) {
  compute_duration_.Observe(absl::ToDoubleSeconds(compute_time));
  if (status.ok()) tokens_.Increment(static_cast<double>(batch.total_tokens()));
}

void SchedulerMetrics::OnShed(ShedReason reason, int64_t sequences) {
  shed_[static_cast<int>(reason)]->Increment(static_cast<double>(sequences));
}

}  // namespace attnserve::server
