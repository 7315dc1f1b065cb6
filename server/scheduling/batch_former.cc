#include "server/scheduling/batch_former.h"

#include <iterator>
#include <utility>

namespace attnserve::server {

ScheduledRequest::ScheduledRequest(std::vector<int64_t> sequence_tokens,
                                   absl::Time deadline, DoneCallback done,
                                   uint64_t batch_key)
    : sequence_tokens_(std::move(sequence_tokens)),
      total_tokens_([this] {
        int64_t total = 0;
        for (int64_t tokens : sequence_tokens_) total += tokens;
        return total;
      }()),
      deadline_(deadline),
      batch_key_(batch_key),
      done_(std::move(done)) {}

const char* ShedReasonName(ShedReason reason) {
  switch (reason) {
    case ShedReason::kQueueFull:
      return "queue_full";
    case ShedReason::kQueueTime:
      return "queue_time";
    case ShedReason::kDeadline:
      return "deadline";
    case ShedReason::kCancelled:
      return "cancelled";
    case ShedReason::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

BatchFormer::BatchFormer(BatchLimits limits) : limits_(limits) {}

void BatchFormer::Enqueue(std::shared_ptr<ScheduledRequest> request,
                          absl::Time now) {
  ScheduledRequest& r = *request;
  r.queued_ = true;
  r.next_sequence_ = 0;
  r.enqueue_time_ = now;
  queued_sequences_ += r.num_sequences();
  queued_tokens_ += r.total_tokens();
  r.queue_position_ = queue_.insert(queue_.end(), std::move(request));
}

bool BatchFormer::ShouldDrop(const ScheduledRequest& request, absl::Time now,
                             ShedReason* reason) const {
  // Deadline first: gRPC cancels a call whose deadline passed, and that is an
  // expiry, not the client's cancellation.
  if (request.deadline() <= now) {
    *reason = ShedReason::kDeadline;
    return true;
  }
  if (request.cancelled()) {
    *reason = ShedReason::kCancelled;
    return true;
  }
  return false;
}

void BatchFormer::Erase(ScheduledRequest& request) {
  int64_t remaining_tokens = 0;
  for (int i = request.next_sequence_; i < request.num_sequences(); ++i) {
    remaining_tokens += request.sequence_tokens(i);
  }
  queued_sequences_ -= request.num_sequences() - request.next_sequence_;
  queued_tokens_ -= remaining_tokens;
  if (request.next_sequence_ > 0) --partially_served_;
  request.queued_ = false;
  queue_.erase(request.queue_position_);
}

int64_t BatchFormer::Remove(ScheduledRequest& request) {
  if (!request.queued_) return 0;
  const int64_t remaining = request.num_sequences() - request.next_sequence_;
  Erase(request);
  return remaining;
}

void BatchFormer::FormBatch(absl::Time now, Batch* batch,
                            std::vector<DroppedRequest>* dropped) {
  const int turn = limits_.max_sequences_per_turn > 0
                       ? limits_.max_sequences_per_turn
                       : limits_.max_batch_size;
  const uint64_t serial = ++batch_serial_;
  bool have_key = false;
  uint64_t key = 0;
  bool closed = false;
  std::vector<std::list<std::shared_ptr<ScheduledRequest>>::iterator> to_back;
  while (!closed && !queue_.empty()) {
    bool took_any = false;
    to_back.clear();
    for (auto it = queue_.begin(); it != queue_.end() && !closed;) {
      ScheduledRequest& r = **it;
      const auto next = std::next(it);
      ShedReason reason;
      if (ShouldDrop(r, now, &reason)) {
        dropped->push_back({*it, reason, r.num_sequences() - r.next_sequence_});
        Erase(r);
        it = next;
        continue;
      }
      if (have_key && r.batch_key() != key) {
        it = next;
        continue;
      }
      int taken = 0;
      while (taken < turn && r.next_sequence_ < r.num_sequences()) {
        const int64_t tokens = r.sequence_tokens(r.next_sequence_);
        if (batch->size() >= limits_.max_batch_size ||
            (!batch->empty() &&
             batch->total_tokens_ + tokens > limits_.max_batch_tokens)) {
          closed = true;
          break;
        }
        if (r.last_batch_serial_ != serial) {
          r.last_batch_serial_ = serial;
          batch->requests_.push_back(*it);
        }
        batch->entries_.push_back(
            {&r, r.next_sequence_, tokens, now - r.enqueue_time_});
        batch->total_tokens_ += tokens;
        if (r.next_sequence_ == 0) ++partially_served_;
        ++r.next_sequence_;
        --queued_sequences_;
        queued_tokens_ -= tokens;
        ++taken;
        took_any = true;
        have_key = true;
        key = r.batch_key();
      }
      if (r.next_sequence_ == r.num_sequences()) {
        Erase(r);
      } else if (taken > 0) {
        to_back.push_back(it);
      }
      it = next;
    }
    for (auto it : to_back) queue_.splice(queue_.end(), queue_, it);
    if (!took_any) break;
  }
}

bool BatchFormer::HasFullBatch() const {
  return queued_sequences_ >= limits_.max_batch_size ||
         queued_tokens_ >= limits_.max_batch_tokens;
}

absl::Time BatchFormer::OldestEnqueueTime() const {
  if (queue_.empty()) return absl::InfiniteFuture();
  if (partially_served_ > 0) return absl::InfinitePast();
  return queue_.front()->enqueue_time_;
}

}  // namespace attnserve::server
