#ifndef ATTNSERVE_SERVER_METRICS_SCHEDULER_METRICS_H_
#define ATTNSERVE_SERVER_METRICS_SCHEDULER_METRICS_H_

#include <string>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "server/metrics/metrics.h"
#include "server/scheduling/scheduler.h"

namespace attnserve::server {

// Records one scheduler's events as the `model`-labelled metrics of
// CONTRACT.md §7: queue depth and time, batch size and tokens, compute time,
// tokens computed, and sheds by reason. The metric children are looked up
// once, so each event is a few atomic adds.
class SchedulerMetrics : public SchedulerObserver {
 public:
  SchedulerMetrics(Metrics* metrics, const std::string& model);

  void OnQueueDepth(int64_t queued_sequences) override;
  void OnBatchFormed(const Batch& batch) override;
  void OnBatchComputed(const Batch& batch, absl::Duration compute_time,
                       const absl::Status& status) override;
  void OnShed(ShedReason reason, int64_t sequences) override;

 private:
  prometheus::Gauge& queue_depth_;
  prometheus::Histogram& queue_duration_;
  prometheus::Histogram& compute_duration_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& batch_tokens_;
  prometheus::Counter& tokens_;
  prometheus::Counter* shed_[kNumShedReasons];  // by ShedReason
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_METRICS_SCHEDULER_METRICS_H_
