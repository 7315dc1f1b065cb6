#ifndef ATTNSERVE_SERVER_SCHEDULING_BATCH_FORMER_H_
#define ATTNSERVE_SERVER_SCHEDULING_BATCH_FORMER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace attnserve::server {

class BatchFormer;
class Scheduler;

// One unit of client work for the Scheduler: one or more sequences, each with
// a token count (Encode: the real tokens of one text; Attend: any cost unit,
// e.g. 1 per batch item). A request completes when every sequence was
// computed, or when it fails; its `done` callback then runs exactly once.
//
// Callers derive from this class to carry their inputs and per-sequence
// result slots, and the compute function casts back (EncodeWork in
// server/infer/encode_work.h: token ids in, hidden states and attention maps
// out, one slot per sequence; ComputeEncodeBatch fills them).
//
// Each sequence index is computed by exactly one batch, so compute code may
// write its slot without locking. Slots must be sized before Submit and not
// resized afterwards. After a non-OK `done` a batch that was already computing
// some of the request's sequences may still write their slots (the scheduler
// keeps the request alive until then); read slots only after an OK `done`.
class ScheduledRequest {
 public:
  // Called exactly once, never with the scheduler's lock held, on the thread
  // that decided the outcome: a compute worker (OK or the compute's error),
  // the scheduler's deadline thread (DEADLINE_EXCEEDED), the thread calling
  // Scheduler::Cancel (CANCELLED) or the thread calling Scheduler::Submit
  // (rejections). Keep it short and non-blocking (e.g. reactor->Finish()).
  using DoneCallback = std::function<void(const absl::Status&)>;

  // `sequence_tokens[i]` is the cost of sequence i (>= 0). `deadline` is
  // absl::InfiniteFuture() for none. Requests with different `batch_key`
  // never share a batch (e.g. Attend calls of different shapes or specs).
  ScheduledRequest(std::vector<int64_t> sequence_tokens, absl::Time deadline,
                   DoneCallback done, uint64_t batch_key = 0);
  virtual ~ScheduledRequest() = default;
  ScheduledRequest(const ScheduledRequest&) = delete;
  ScheduledRequest& operator=(const ScheduledRequest&) = delete;

  int num_sequences() const {
    return static_cast<int>(sequence_tokens_.size());
  }
  int64_t sequence_tokens(int sequence) const {
    return sequence_tokens_[sequence];
  }
  absl::Span<const int64_t> all_sequence_tokens() const {
    return sequence_tokens_;
  }
  int64_t total_tokens() const { return total_tokens_; }
  absl::Time deadline() const { return deadline_; }
  uint64_t batch_key() const { return batch_key_; }

  // Sets the callback after construction (e.g. one that captures the
  // request's own shared_ptr). Only before Submit.
  void set_done(DoneCallback done) { done_ = std::move(done); }

  // Set by Scheduler::Cancel (or by the caller directly, in which case the
  // request is dropped the next time the batch former reaches it).
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  void MarkCancelled() { cancelled_.store(true, std::memory_order_release); }

 private:
  friend class BatchFormer;
  friend class Scheduler;

  const std::vector<int64_t> sequence_tokens_;
  const int64_t total_tokens_;
  const absl::Time deadline_;
  const uint64_t batch_key_;
  DoneCallback done_;
  std::atomic<bool> cancelled_{false};

  // Queue state, owned by the BatchFormer (guarded by the scheduler's mutex).
  bool queued_ = false;
  int next_sequence_ = 0;  // first sequence not yet taken into a batch
  absl::Time enqueue_time_;
  std::list<std::shared_ptr<ScheduledRequest>>::iterator queue_position_;
  uint64_t last_batch_serial_ = 0;  // the latest batch it contributed to

  // Completion state, owned by the Scheduler (guarded by its mutex).
  const Scheduler* owner_ = nullptr;
  bool finished_ = false;
  int sequences_computed_ = 0;
  std::multimap<absl::Time, ScheduledRequest*>::iterator deadline_position_;
  bool has_deadline_position_ = false;
};

// One sequence of one request inside a batch.
struct BatchEntry {
  ScheduledRequest* request;  // alive while the Batch is
  int sequence;               // index within the request
  int64_t tokens;             // request->sequence_tokens(sequence)
  absl::Duration queue_time;  // from Submit to the forming of this batch
};

// What a compute worker runs: a flat list of sequences (no padding), in the
// order the batch former took them; sequences of one request appear in
// increasing index order.
class Batch {
 public:
  absl::Span<const BatchEntry> entries() const { return entries_; }
  int size() const { return static_cast<int>(entries_.size()); }
  bool empty() const { return entries_.empty(); }
  // Distinct requests with at least one sequence in this batch.
  absl::Span<const std::shared_ptr<ScheduledRequest>> requests() const {
    return requests_;
  }
  int num_requests() const { return static_cast<int>(requests_.size()); }
  int64_t total_tokens() const { return total_tokens_; }

 private:
  friend class BatchFormer;

  std::vector<BatchEntry> entries_;
  std::vector<std::shared_ptr<ScheduledRequest>> requests_;
  int64_t total_tokens_ = 0;
};

struct BatchLimits {
  int max_batch_size = 32;           // sequences per batch, >= 1
  int64_t max_batch_tokens = 16384;  // real tokens per batch, >= 1
  // Fairness: how many sequences one request contributes per turn before the
  // former moves to the next waiting request (round robin over requests).
  // 0 means max_batch_size. See BatchFormer.
  int max_sequences_per_turn = 0;
};

// Why the scheduler refused or dropped work (for the shed counter).
enum class ShedReason {
  kQueueFull,
  kQueueTime,
  kDeadline,
  kCancelled,
  kShutdown
};
constexpr int kNumShedReasons = 5;
// "queue_full", "queue_time", "deadline", "cancelled", "shutdown".
const char* ShedReasonName(ShedReason reason);

// A request the batch former removed without computing it.
struct DroppedRequest {
  std::shared_ptr<ScheduledRequest> request;
  ShedReason reason;          // kDeadline or kCancelled
  int64_t dropped_sequences;  // queued sequences that will never be computed
};

// The queue of one scheduler and its batching policy. Not thread-safe: the
// Scheduler calls it under its mutex. Pure logic (no clock, no threads), so it
// is tested directly.
//
// Policy. Waiting requests form a rotation, new ones joining at the back.
// FormBatch visits them from the front: each visited request contributes its
// next sequences, in order, up to max_sequences_per_turn; a request that still
// has sequences left afterwards moves to the back of the rotation (a request
// larger than one batch is thus split over several batches, and its sequences
// still reach the compute in index order). If a full pass leaves room, the
// former passes again. The batch is closed when it holds max_batch_size
// sequences or when the next sequence would push it over max_batch_tokens
// (arrival order is never skipped for a better fit); a single sequence larger
// than max_batch_tokens forms a batch alone. With the default turn size, a
// batch is plain arrival order as long as no request is larger than a batch.
//
// Fairness bound: when the batch size (not the token budget) closes batches, a
// request with R requests ahead of it in the rotation gets its first sequences
// into one of the next ceil(R * max_sequences_per_turn / max_batch_size) + 1
// batches, however large the requests ahead of it are: a client with a huge
// request delays each other request by at most one turn.
//
// Requests whose deadline passed or that were cancelled are removed when the
// former reaches them and reported in `dropped`; their sequences are never put
// into a batch. Requests with a different batch_key than the first one taken
// are passed over and keep their place.
class BatchFormer {
 public:
  explicit BatchFormer(BatchLimits limits);

  // Appends `request` (not already queued, num_sequences() >= 1) to the back.
  void Enqueue(std::shared_ptr<ScheduledRequest> request, absl::Time now);

  // Takes the next batch into `*batch` (which must be empty). Appends to
  // `*dropped` the requests removed because they were cancelled or their
  // deadline is <= now. `*batch` stays empty only if the queue became empty.
  void FormBatch(absl::Time now, Batch* batch,
                 std::vector<DroppedRequest>* dropped);

  // Removes the request's queued sequences; returns how many there were
  // (0 if it was not queued).
  int64_t Remove(ScheduledRequest& request);

  bool empty() const { return queue_.empty(); }
  int64_t queued_sequences() const { return queued_sequences_; }
  int64_t queued_tokens() const { return queued_tokens_; }
  int queued_requests() const { return static_cast<int>(queue_.size()); }

  // True when the queue already holds at least a full batch (by sequences or
  // tokens), so waiting for more cannot make the next batch bigger.
  bool HasFullBatch() const;

  // When the oldest queued work arrived: the earliest enqueue time of the
  // queued requests, or InfinitePast if a request is partially served (its
  // remaining sequences have waited already). InfiniteFuture when empty.
  absl::Time OldestEnqueueTime() const;

 private:
  bool ShouldDrop(const ScheduledRequest& request, absl::Time now,
                  ShedReason* reason) const;
  void Erase(ScheduledRequest& request);

  const BatchLimits limits_;
  std::list<std::shared_ptr<ScheduledRequest>> queue_;
  int64_t queued_sequences_ = 0;
  int64_t queued_tokens_ = 0;
  int partially_served_ = 0;   // queued requests with next_sequence_ > 0
  uint64_t batch_serial_ = 0;  // numbers the batches formed, from 1
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SCHEDULING_BATCH_FORMER_H_
