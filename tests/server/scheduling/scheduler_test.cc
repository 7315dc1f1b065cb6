// Tests of the batching scheduler: the BatchFormer's policy directly (pure,
// single-threaded), then the Scheduler's threads with a fake clock and a fake
// compute that records every batch it is given. No OpenMP runs here, so the
// suite is clean under ThreadSanitizer.
#include "server/scheduling/scheduler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/scheduling/batch_former.h"
#include "server/scheduling/clock.h"

namespace attnserve::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

// A request that knows its test id and has one result slot per sequence.
struct TestRequest : ScheduledRequest {
  TestRequest(int id, std::vector<int64_t> tokens, absl::Time deadline,
              DoneCallback done, uint64_t batch_key = 0)
      : ScheduledRequest(std::move(tokens), deadline, std::move(done),
                         batch_key),
        id(id),
        slots(num_sequences(), -1) {}
  const int id;
  std::vector<int64_t> slots;  // written by the fake compute
};

// The value the fake compute writes for a sequence: depends on the request
// and the sequence, so a misrouted result is visible.
int64_t ExpectedSlot(int id, int sequence) { return id * 100'000 + sequence; }

std::shared_ptr<TestRequest> MakeRequest(
    int id, std::vector<int64_t> tokens,
    absl::Time deadline = absl::InfiniteFuture(), uint64_t batch_key = 0) {
  return std::make_shared<TestRequest>(id, std::move(tokens), deadline, nullptr,
                                       batch_key);
}

// (request id, sequence) of each entry of a batch.
std::vector<std::pair<int, int>> Ids(const Batch& batch) {
  std::vector<std::pair<int, int>> ids;
  for (const BatchEntry& e : batch.entries()) {
    ids.emplace_back(static_cast<TestRequest*>(e.request)->id, e.sequence);
  }
  return ids;
}

// ---------------------------------------------------------------------------
// BatchFormer

BatchFormer Former(int max_batch_size, int64_t max_batch_tokens,
                   int max_sequences_per_turn = 0) {
  return BatchFormer(
      BatchLimits{max_batch_size, max_batch_tokens, max_sequences_per_turn});
}

std::vector<std::vector<std::pair<int, int>>> DrainBatches(
    BatchFormer& former, absl::Time now = kStart) {
  std::vector<std::vector<std::pair<int, int>>> batches;
  while (!former.empty()) {
    Batch batch;
    std::vector<DroppedRequest> dropped;
    former.FormBatch(now, &batch, &dropped);
    EXPECT_TRUE(dropped.empty());
    batches.push_back(Ids(batch));
  }
  return batches;
}

TEST(BatchFormerTest, TakesArrivalOrderUpToMaxBatchSize) {
  BatchFormer former = Former(3, 1000);
  for (int id = 0; id < 5; ++id) former.Enqueue(MakeRequest(id, {7}), kStart);
  EXPECT_EQ(former.queued_sequences(), 5);
  EXPECT_EQ(former.queued_tokens(), 35);
  EXPECT_THAT(DrainBatches(former),
              ElementsAre(ElementsAre(Pair(0, 0), Pair(1, 0), Pair(2, 0)),
                          ElementsAre(Pair(3, 0), Pair(4, 0))));
  EXPECT_EQ(former.queued_sequences(), 0);
  EXPECT_EQ(former.queued_tokens(), 0);
}

TEST(BatchFormerTest, ClosesBatchAtTokenBudgetWithoutSkipping) {
  BatchFormer former = Former(100, 10);
  former.Enqueue(MakeRequest(0, {4}), kStart);
  former.Enqueue(MakeRequest(1, {4}), kStart);
  former.Enqueue(MakeRequest(2, {8}), kStart);
  // 1 token would still fit after 2, but arrival order is kept.
  former.Enqueue(MakeRequest(3, {1}), kStart);
  Batch first;
  std::vector<DroppedRequest> dropped;
  former.FormBatch(kStart, &first, &dropped);
  EXPECT_THAT(Ids(first), ElementsAre(Pair(0, 0), Pair(1, 0)));
  EXPECT_EQ(first.total_tokens(), 8);
  EXPECT_THAT(DrainBatches(former),
              ElementsAre(ElementsAre(Pair(2, 0), Pair(3, 0))));
}

TEST(BatchFormerTest, SequenceOverTokenBudgetFormsBatchAlone) {
  BatchFormer former = Former(100, 10);
  former.Enqueue(MakeRequest(0, {3}), kStart);
  former.Enqueue(MakeRequest(1, {25, 2}), kStart);
  EXPECT_THAT(DrainBatches(former),
              ElementsAre(ElementsAre(Pair(0, 0)), ElementsAre(Pair(1, 0)),
                          ElementsAre(Pair(1, 1))));
}

TEST(BatchFormerTest, SplitsRequestLargerThanBatchInSequenceOrder) {
  BatchFormer former = Former(4, 1000);
  former.Enqueue(MakeRequest(0, std::vector<int64_t>(10, 5)), kStart);
  const auto batches = DrainBatches(former);
  ASSERT_EQ(batches.size(), 3u);
  std::vector<int> sequences;
  for (const auto& batch : batches) {
    EXPECT_LE(batch.size(), 4u);
    for (const auto& [id, sequence] : batch) sequences.push_back(sequence);
  }
  EXPECT_THAT(sequences, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

// Batch index (0-based) in which each request got its first sequence.
std::map<int, int> FirstBatchOf(
    const std::vector<std::vector<std::pair<int, int>>>& batches) {
  std::map<int, int> first;
  for (int b = 0; b < static_cast<int>(batches.size()); ++b) {
    for (const auto& [id, sequence] : batches[b]) first.emplace(id, b);
  }
  return first;
}

TEST(BatchFormerTest, HugeRequestTakesOneTurnThenSmallOnesGoFirst) {
  constexpr int kBatch = 32;
  for (int turn : {0, 8, 1}) {
    SCOPED_TRACE(turn);
    const int effective_turn = turn == 0 ? kBatch : turn;
    BatchFormer former = Former(kBatch, 1 << 20, turn);
    former.Enqueue(MakeRequest(0, std::vector<int64_t>(1000, 3)), kStart);
    for (int id = 1; id <= 100; ++id) {
      former.Enqueue(MakeRequest(id, {3}), kStart);
    }
    const auto batches = DrainBatches(former);
    const std::map<int, int> first = FirstBatchOf(batches);
    // Ahead of small request `id` in the rotation: one turn of the huge
    // request and the id - 1 earlier small ones.
    for (int id = 1; id <= 100; ++id) {
      EXPECT_LE(first.at(id), (effective_turn + id - 1) / kBatch) << id;
    }
    // FIFO would have made the last one wait for ~32 batches.
    EXPECT_LE(first.at(100), 4);
    std::vector<int> huge_sequences;
    int total = 0;
    for (const auto& batch : batches) {
      EXPECT_LE(batch.size(), static_cast<size_t>(kBatch));
      total += batch.size();
      for (const auto& [id, sequence] : batch) {
        if (id == 0) huge_sequences.push_back(sequence);
      }
    }
    EXPECT_EQ(total, 1100);
    ASSERT_EQ(huge_sequences.size(), 1000u);
    EXPECT_TRUE(std::is_sorted(huge_sequences.begin(), huge_sequences.end()));
  }
}

TEST(BatchFormerTest, ManyHugeRequestsDoNotStarveALateSmallOne) {
  BatchFormer former = Former(16, 1 << 20);
  for (int id = 0; id < 40; ++id) {
    former.Enqueue(MakeRequest(id, std::vector<int64_t>(500, 1)), kStart);
  }
  former.Enqueue(MakeRequest(99, {1}), kStart);
  const std::map<int, int> first = FirstBatchOf(DrainBatches(former));
  // 40 turns of 16 sequences ahead of it: 40 batches, not 40 * 500 / 16.
  EXPECT_LE(first.at(99), 40);
}

TEST(BatchFormerTest, DropsCancelledAndExpiredRequestsWhenReached) {
  BatchFormer former = Former(10, 1000);
  auto expired = MakeRequest(0, {1, 1}, kStart);
  auto cancelled = MakeRequest(1, {1, 1, 1});
  auto live = MakeRequest(2, {1}, kStart + absl::Seconds(1));
  former.Enqueue(expired, kStart - absl::Seconds(1));
  former.Enqueue(cancelled, kStart - absl::Seconds(1));
  former.Enqueue(live, kStart - absl::Seconds(1));
  cancelled->MarkCancelled();
  expired->MarkCancelled();  // as gRPC does at the deadline: still an expiry
  Batch batch;
  std::vector<DroppedRequest> dropped;
  former.FormBatch(kStart, &batch, &dropped);
  EXPECT_THAT(Ids(batch), ElementsAre(Pair(2, 0)));
  EXPECT_EQ(batch.entries()[0].queue_time, absl::Seconds(1));
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0].request, expired);
  EXPECT_EQ(dropped[0].reason, ShedReason::kDeadline);
  EXPECT_EQ(dropped[0].dropped_sequences, 2);
  EXPECT_EQ(dropped[1].request, cancelled);
  EXPECT_EQ(dropped[1].reason, ShedReason::kCancelled);
  EXPECT_EQ(dropped[1].dropped_sequences, 3);
  EXPECT_TRUE(former.empty());
  EXPECT_EQ(former.queued_sequences(), 0);
}

TEST(BatchFormerTest, RequestsWithDifferentBatchKeysNeverShareABatch) {
  BatchFormer former = Former(10, 1000);
  former.Enqueue(MakeRequest(0, {1}, absl::InfiniteFuture(), 7), kStart);
  former.Enqueue(MakeRequest(1, {1}, absl::InfiniteFuture(), 8), kStart);
  former.Enqueue(MakeRequest(2, {1, 1}, absl::InfiniteFuture(), 7), kStart);
  EXPECT_THAT(DrainBatches(former),
              ElementsAre(ElementsAre(Pair(0, 0), Pair(2, 0), Pair(2, 1)),
                          ElementsAre(Pair(1, 0))));
}

TEST(BatchFormerTest, ReportsOldestWorkAndFullBatch) {
  BatchFormer former = Former(3, 100);
  EXPECT_EQ(former.OldestEnqueueTime(), absl::InfiniteFuture());
  former.Enqueue(MakeRequest(0, {10}), kStart);
  former.Enqueue(MakeRequest(1, {10}), kStart + absl::Milliseconds(1));
  EXPECT_EQ(former.OldestEnqueueTime(), kStart);
  EXPECT_FALSE(former.HasFullBatch());
  former.Enqueue(MakeRequest(2, {95, 10, 1, 1}), kStart);
  EXPECT_TRUE(former.HasFullBatch());
  Batch batch;
  std::vector<DroppedRequest> dropped;
  former.FormBatch(kStart, &batch, &dropped);
  EXPECT_THAT(Ids(batch), ElementsAre(Pair(0, 0), Pair(1, 0)));
  Batch second;
  former.FormBatch(kStart, &second, &dropped);
  EXPECT_THAT(Ids(second), ElementsAre(Pair(2, 0)));
  // The rest of a split request has waited already.
  EXPECT_EQ(former.OldestEnqueueTime(), absl::InfinitePast());
  const int64_t removed = former.Remove(*second.requests()[0]);
  EXPECT_EQ(removed, 3);
  EXPECT_TRUE(former.empty());
  EXPECT_EQ(former.queued_tokens(), 0);
}

// ---------------------------------------------------------------------------
// Scheduler

// Time moves only when the test says. WaitUntil blocks on the real condition
// variable; Advance wakes every waiter (taking its mutex first, so a waiter
// that is between reading the time and waiting cannot miss it).
class FakeClock final : public Clock {
 public:
  absl::Time Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }

  void WaitUntil(std::condition_variable& cv,
                 std::unique_lock<std::mutex>& lock,
                 absl::Time deadline) override {
    const Waiter waiter{&cv, lock.mutex(), deadline, next_waiter_id_++};
    {
      std::lock_guard<std::mutex> clock_lock(mu_);
      if (now_ >= deadline) return;
      waiters_.push_back(waiter);
      waiters_changed_.notify_all();
    }
    cv.wait(lock);
    std::lock_guard<std::mutex> clock_lock(mu_);
    waiters_.erase(
        std::find_if(waiters_.begin(), waiters_.end(),
                     [&](const Waiter& w) { return w.id == waiter.id; }));
  }

  void Advance(absl::Duration d) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now_ += d;
      waiters = waiters_;
    }
    for (const Waiter& w : waiters) {
      std::lock_guard<std::mutex> lock(*w.mutex);
      w.cv->notify_all();
    }
  }

  // Blocks (in real time) until some thread waits for exactly `deadline`.
  void AwaitWaiterFor(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool found =
        waiters_changed_.wait_for(lock, std::chrono::seconds(20), [&] {
          return std::any_of(
              waiters_.begin(), waiters_.end(),
              [&](const Waiter& w) { return w.deadline == deadline; });
        });
    ASSERT_TRUE(found) << "nobody waits for " << deadline;
  }

 private:
  struct Waiter {
    std::condition_variable* cv;
    std::mutex* mutex;
    absl::Time deadline;
    uint64_t id;
  };
  std::mutex mu_;
  std::condition_variable waiters_changed_;
  absl::Time now_ = kStart;
  std::vector<Waiter> waiters_;
  std::atomic<uint64_t> next_waiter_id_{0};
};

// Records every batch and every completion; can hold batches in compute until
// released, and fail batches that contain a given request.
class Harness {
 public:
  // The compute function to give the scheduler.
  ComputeFn Compute() {
    return [this](const Batch& batch) { return Run(batch); };
  }

  // While held, each batch waits in compute until Release().
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
    cv_.notify_all();
  }
  // Each batch then sleeps this long in compute (real time), so that work
  // piles up in the queue.
  void SetComputeSleep(std::chrono::microseconds sleep) {
    std::lock_guard<std::mutex> lock(mu_);
    sleep_ = sleep;
  }
  // Each batch then advances `clock` by `per_token` per token of the batch:
  // a compute whose cost the scheduler can measure on the fake clock.
  void AdvanceClockPerToken(FakeClock* clock, absl::Duration per_token) {
    std::lock_guard<std::mutex> lock(mu_);
    clock_ = clock;
    per_token_ = per_token;
  }
  void FailBatchesContaining(int id, absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_id_ = id;
    fail_status_ = std::move(status);
  }

  // A request whose completion is recorded here.
  std::shared_ptr<TestRequest> Request(
      int id, std::vector<int64_t> tokens,
      absl::Time deadline = absl::InfiniteFuture()) {
    return std::make_shared<TestRequest>(
        id, std::move(tokens), deadline, [this, id](const absl::Status& s) {
          std::lock_guard<std::mutex> lock(mu_);
          Completion& c = completions_[id];
          ++c.calls;
          c.status = s;
          c.batches_started = static_cast<int>(batches_.size());
          cv_.notify_all();
        });
  }

  void AwaitBatchesStarted(int n) {
    Await([&] { return static_cast<int>(batches_.size()) >= n; });
  }
  void AwaitCompleted(int id) {
    Await([&] { return completions_.count(id) > 0; });
  }
  void AwaitCompletions(int n) {
    Await([&] { return static_cast<int>(completions_.size()) >= n; });
  }

  struct Completion {
    int calls = 0;
    absl::Status status;
    int batches_started = 0;  // batches given to compute before it completed
  };
  Completion completion(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    return completions_.at(id);
  }
  bool completed(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    return completions_.count(id) > 0;
  }
  std::vector<std::vector<std::pair<int, int>>> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  // Every (request id, sequence) the compute was ever given.
  std::multiset<std::pair<int, int>> computed() {
    std::lock_guard<std::mutex> lock(mu_);
    std::multiset<std::pair<int, int>> all;
    for (const auto& batch : batches_) all.insert(batch.begin(), batch.end());
    return all;
  }

 private:
  absl::Status Run(const Batch& batch) {
    std::unique_lock<std::mutex> lock(mu_);
    batches_.push_back(Ids(batch));
    cv_.notify_all();
    cv_.wait(lock, [&] { return !held_; });
    for (const BatchEntry& e : batch.entries()) {
      auto* request = static_cast<TestRequest*>(e.request);
      if (request->id == fail_id_) return fail_status_;
    }
    const std::chrono::microseconds sleep = sleep_;
    FakeClock* const clock = clock_;
    const absl::Duration per_token = per_token_;
    lock.unlock();
    std::this_thread::sleep_for(sleep);
    if (clock != nullptr) clock->Advance(per_token * batch.total_tokens());
    for (const BatchEntry& e : batch.entries()) {
      auto* request = static_cast<TestRequest*>(e.request);
      request->slots[e.sequence] = ExpectedSlot(request->id, e.sequence);
    }
    return absl::OkStatus();
  }

  template <class Predicate>
  void Await(Predicate predicate) {
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20), predicate))
        << "timed out (the scheduler hangs)";
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  std::chrono::microseconds sleep_{0};
  FakeClock* clock_ = nullptr;
  absl::Duration per_token_;
  int fail_id_ = -1;
  absl::Status fail_status_;
  std::vector<std::vector<std::pair<int, int>>> batches_;
  std::map<int, Completion> completions_;
};

// Counts what the observer hooks report.
class CountingObserver final : public SchedulerObserver {
 public:
  void OnQueueDepth(int64_t queued) override {
    std::lock_guard<std::mutex> lock(mu_);
    depths.push_back(queued);
  }
  void OnBatchFormed(const Batch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++batches_formed;
    sequences_formed += batch.size();
    tokens_formed += batch.total_tokens();
    for (const BatchEntry& e : batch.entries()) {
      EXPECT_GE(e.queue_time, absl::ZeroDuration());
    }
  }
  void OnBatchComputed(const Batch&, absl::Duration compute_time,
                       const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++batches_computed;
    EXPECT_GE(compute_time, absl::ZeroDuration());
    max_compute_time = std::max(max_compute_time, compute_time);
    if (!status.ok()) ++batches_failed;
  }
  void OnShed(ShedReason reason, int64_t sequences) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++sheds[ShedReasonName(reason)];
    shed_sequences[ShedReasonName(reason)] += sequences;
  }

  std::mutex mu_;
  std::vector<int64_t> depths;
  int batches_formed = 0;
  int64_t sequences_formed = 0;
  int64_t tokens_formed = 0;
  int batches_computed = 0;
  absl::Duration max_compute_time;
  int batches_failed = 0;
  std::map<std::string, int> sheds;
  std::map<std::string, int64_t> shed_sequences;
};

std::unique_ptr<Scheduler> Start(SchedulerOptions options, Harness& harness,
                                 Clock* clock,
                                 SchedulerObserver* observer = nullptr) {
  auto scheduler =
      Scheduler::Create(std::move(options), harness.Compute(), observer, clock);
  EXPECT_TRUE(scheduler.ok()) << scheduler.status();
  return *std::move(scheduler);
}

SchedulerOptions Options(int max_batch_size, int64_t max_batch_tokens = 1000,
                         absl::Duration delay = absl::ZeroDuration()) {
  SchedulerOptions options;
  options.name = "test_model";
  options.max_batch_size = max_batch_size;
  options.max_batch_tokens = max_batch_tokens;
  options.max_queue_delay = delay;
  return options;
}

void ExpectSlotsFilled(const TestRequest& request) {
  for (int s = 0; s < request.num_sequences(); ++s) {
    EXPECT_EQ(request.slots[s], ExpectedSlot(request.id, s))
        << "request " << request.id << " sequence " << s;
  }
}

TEST(SchedulerTest, CreateRejectsInvalidOptionsNamingTheField) {
  Harness harness;
  SchedulerOptions options = Options(0);
  auto scheduler = Scheduler::Create(options, harness.Compute());
  EXPECT_EQ(scheduler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(scheduler.status().message(), HasSubstr("max_batch_size is 0"));
  options = Options(4);
  options.max_queue_delay = absl::Milliseconds(-1);
  EXPECT_THAT(Scheduler::Create(options, harness.Compute()).status().message(),
              HasSubstr("max_queue_delay"));
  options = Options(4);
  options.max_queue_time = absl::Milliseconds(-1);
  EXPECT_THAT(Scheduler::Create(options, harness.Compute()).status().message(),
              HasSubstr("max_queue_time"));
}

TEST(SchedulerTest, WaitsForQueueDelayThenBatchesWhatArrived) {
  FakeClock clock;
  Harness harness;
  auto scheduler =
      Start(Options(8, 1000, absl::Milliseconds(10)), harness, &clock);
  for (int id = 0; id < 3; ++id) scheduler->Submit(harness.Request(id, {5}));
  clock.AwaitWaiterFor(kStart + absl::Milliseconds(10));
  EXPECT_TRUE(harness.batches().empty());
  clock.Advance(absl::Milliseconds(9));
  clock.AwaitWaiterFor(kStart + absl::Milliseconds(10));
  EXPECT_TRUE(harness.batches().empty());
  clock.Advance(absl::Milliseconds(1));
  harness.AwaitCompletions(3);
  EXPECT_THAT(harness.batches(),
              ElementsAre(ElementsAre(Pair(0, 0), Pair(1, 0), Pair(2, 0))));
  for (int id = 0; id < 3; ++id) {
    EXPECT_TRUE(harness.completion(id).status.ok());
  }
}

TEST(SchedulerTest, FullBatchDoesNotWaitForTheDelay) {
  FakeClock clock;
  Harness harness;
  auto scheduler = Start(Options(4, 1000, absl::Hours(1)), harness, &clock);
  std::vector<std::shared_ptr<TestRequest>> requests;
  for (int id = 0; id < 6; ++id) requests.push_back(harness.Request(id, {5}));
  for (int id = 0; id < 4; ++id) scheduler->Submit(requests[id]);
  harness.AwaitCompletions(4);  // no time passed: the batch was full
  scheduler->Submit(requests[4]);
  scheduler->Submit(requests[5]);
  clock.AwaitWaiterFor(kStart + absl::Hours(1));
  EXPECT_EQ(harness.batches().size(), 1u);
  clock.Advance(absl::Hours(1));
  harness.AwaitCompletions(6);
  EXPECT_THAT(
      harness.batches(),
      ElementsAre(ElementsAre(Pair(0, 0), Pair(1, 0), Pair(2, 0), Pair(3, 0)),
                  ElementsAre(Pair(4, 0), Pair(5, 0))));
}

TEST(SchedulerTest, TokenBudgetFillsABatchWithoutWaiting) {
  FakeClock clock;
  Harness harness;
  auto scheduler = Start(Options(100, 64, absl::Hours(1)), harness, &clock);
  scheduler->Submit(harness.Request(0, {40}));
  scheduler->Submit(harness.Request(1, {30}));  // 70 queued >= 64 tokens
  harness.AwaitCompleted(0);
  EXPECT_EQ(harness.batches().front(),
            (std::vector<std::pair<int, int>>{{0, 0}}));
  clock.Advance(absl::Hours(1));
  harness.AwaitCompleted(1);
}

TEST(SchedulerTest, SplitRequestIsReassembledInOrder) {
  FakeClock clock;
  Harness harness;
  auto scheduler = Start(Options(3, 1000), harness, &clock);
  auto request = harness.Request(7, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  scheduler->Submit(request);
  harness.AwaitCompleted(7);
  const Harness::Completion c = harness.completion(7);
  EXPECT_TRUE(c.status.ok()) << c.status;
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.batches_started, 4);
  ExpectSlotsFilled(*request);
  std::vector<int> order;
  for (const auto& batch : harness.batches()) {
    EXPECT_LE(batch.size(), 3u);
    for (const auto& [id, sequence] : batch) order.push_back(sequence);
  }
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

TEST(SchedulerTest, FullQueueRejectsWithResourceExhaustedAndQueuesNothing) {
  FakeClock clock;
  Harness harness;
  CountingObserver observer;
  SchedulerOptions options = Options(8);
  options.max_queue_size = 4;
  auto scheduler = Start(options, harness, &clock, &observer);
  harness.Hold();
  scheduler->Submit(harness.Request(0, {1}));
  harness.AwaitBatchesStarted(1);  // request 0 is in compute, queue empty
  scheduler->Submit(harness.Request(1, {1, 1, 1}));
  scheduler->Submit(harness.Request(2, {1, 1}));  // 3 + 2 > 4
  ASSERT_TRUE(harness.completed(2));              // before Submit returned
  const Harness::Completion rejected = harness.completion(2);
  EXPECT_EQ(rejected.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(rejected.status.message(), HasSubstr("max_queue_size is 4"));
  EXPECT_EQ(scheduler->queued_sequences(), 3);
  scheduler->Submit(harness.Request(3, {1}));  // exactly fills the queue
  EXPECT_FALSE(harness.completed(3));
  harness.Release();
  harness.AwaitCompletions(4);
  EXPECT_TRUE(harness.completion(1).status.ok());
  EXPECT_TRUE(harness.completion(3).status.ok());
  EXPECT_EQ(harness.computed().count({2, 0}), 0u);
  scheduler->Shutdown();
  EXPECT_EQ(observer.sheds["queue_full"], 1);
  EXPECT_EQ(observer.shed_sequences["queue_full"], 2);
  EXPECT_EQ(observer.depths.back(), 0);
}

TEST(SchedulerTest, QueueTimeBudgetRefusesWorkExpectedToWaitTooLong) {
  FakeClock clock;
  Harness harness;
  CountingObserver observer;
  harness.AdvanceClockPerToken(&clock, absl::Milliseconds(1));
  SchedulerOptions options = Options(8);
  options.max_queue_time = absl::Milliseconds(45);
  auto scheduler = Start(options, harness, &clock, &observer);
  // No batch computed yet: no estimate, only max_queue_size applies.
  harness.Hold();
  scheduler->Submit(harness.Request(0, {10}));
  harness.AwaitBatchesStarted(1);
  EXPECT_FALSE(scheduler->ExpectedQueueTime().has_value());
  scheduler->Submit(harness.Request(1, {100}));
  EXPECT_FALSE(harness.completed(1));
  harness.Release();
  harness.AwaitCompletions(2);
  ASSERT_TRUE(harness.completion(1).status.ok());

  // 1 ms per token measured; a batch of 10 tokens computing (just started),
  // then 20 + 20 queued.
  harness.Hold();
  scheduler->Submit(harness.Request(2, {10}));
  harness.AwaitBatchesStarted(3);
  ASSERT_TRUE(scheduler->ExpectedQueueTime().has_value());
  EXPECT_NEAR(absl::ToDoubleMilliseconds(*scheduler->ExpectedQueueTime()), 10,
              1e-6);
  scheduler->Submit(harness.Request(3, {20}));
  scheduler->Submit(harness.Request(4, {20}));
  EXPECT_FALSE(harness.completed(4));
  EXPECT_NEAR(absl::ToDoubleMilliseconds(*scheduler->ExpectedQueueTime()), 50,
              1e-6);
  scheduler->Submit(harness.Request(5, {1}));  // 50 ms ahead > 45 ms
  ASSERT_TRUE(harness.completed(5));           // before Submit returned
  EXPECT_EQ(harness.completion(5).status.code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(harness.completion(5).status.message(),
              HasSubstr("max_queue_time"));
  // 6 ms into the computing batch, 4 ms of it are left: 44 ms ahead.
  clock.Advance(absl::Milliseconds(6));
  EXPECT_NEAR(absl::ToDoubleMilliseconds(*scheduler->ExpectedQueueTime()), 44,
              1e-6);
  scheduler->Submit(harness.Request(7, {1}));
  EXPECT_FALSE(harness.completed(7));
  harness.Release();
  harness.AwaitCompletions(7);
  for (int id : {2, 3, 4, 7}) EXPECT_TRUE(harness.completion(id).status.ok());
  EXPECT_EQ(harness.computed().count({5, 0}), 0u);
  // The queue drained: new work is admitted again.
  scheduler->Submit(harness.Request(6, {1}));
  harness.AwaitCompleted(6);
  EXPECT_TRUE(harness.completion(6).status.ok());
  scheduler->Shutdown();
  EXPECT_EQ(observer.sheds["queue_time"], 1);
  EXPECT_EQ(observer.shed_sequences["queue_time"], 1);
}

TEST(SchedulerTest, ComputeTimeExcludesTheWaitForTheSharedComputeMutex) {
  FakeClock clock;
  Harness harness;
  CountingObserver observer;
  std::mutex compute_mutex;
  SchedulerOptions options = Options(8);
  options.compute_mutex = &compute_mutex;
  auto scheduler = Start(options, harness, &clock, &observer);
  std::unique_lock<std::mutex> other_queue_computing(compute_mutex);
  scheduler->Submit(harness.Request(0, {10}));
  // Once the worker has formed the batch it waits for the mutex; time passes.
  for (int i = 0; i < 20'000; ++i) {
    {
      std::lock_guard<std::mutex> lock(observer.mu_);
      if (observer.batches_formed == 1) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  clock.Advance(absl::Seconds(5));
  EXPECT_TRUE(harness.batches().empty());
  other_queue_computing.unlock();
  harness.AwaitCompleted(0);
  scheduler->Shutdown();
  EXPECT_EQ(observer.batches_computed, 1);
  EXPECT_EQ(observer.max_compute_time, absl::ZeroDuration());
}

TEST(SchedulerTest, RequestLargerThanTheQueueIsRefused) {
  FakeClock clock;
  Harness harness;
  SchedulerOptions options = Options(8);
  options.max_queue_size = 4;
  auto scheduler = Start(options, harness, &clock);
  scheduler->Submit(harness.Request(0, {1, 1, 1, 1, 1}));
  EXPECT_EQ(harness.completion(0).status.code(),
            absl::StatusCode::kResourceExhausted);
  scheduler->Shutdown();
  EXPECT_TRUE(harness.batches().empty());
}

TEST(SchedulerTest, ExpiredWorkIsDroppedPromptlyAndNeverComputed) {
  FakeClock clock;
  Harness harness;
  CountingObserver observer;
  auto scheduler = Start(Options(8), harness, &clock, &observer);
  harness.Hold();
  scheduler->Submit(harness.Request(0, {1}));
  harness.AwaitBatchesStarted(1);  // the only worker is busy
  auto expiring = harness.Request(1, {1, 1}, kStart + absl::Milliseconds(5));
  scheduler->Submit(expiring);
  scheduler->Submit(harness.Request(2, {1}, kStart + absl::Seconds(10)));
  clock.AwaitWaiterFor(kStart + absl::Milliseconds(5));
  clock.Advance(absl::Milliseconds(5));
  // Completed by the deadline thread while the worker is still busy.
  harness.AwaitCompleted(1);
  EXPECT_EQ(harness.completion(1).status.code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(harness.completion(1).batches_started, 1);
  EXPECT_EQ(scheduler->queued_sequences(), 1);
  harness.Release();
  harness.AwaitCompletions(3);
  EXPECT_TRUE(harness.completion(2).status.ok());
  EXPECT_EQ(harness.computed(),
            (std::multiset<std::pair<int, int>>{{0, 0}, {2, 0}}));
  // Already expired at Submit: refused at once.
  scheduler->Submit(harness.Request(3, {1}, kStart));
  EXPECT_EQ(harness.completion(3).status.code(),
            absl::StatusCode::kDeadlineExceeded);
  scheduler->Shutdown();
  EXPECT_EQ(observer.sheds["deadline"], 2);
  EXPECT_EQ(observer.shed_sequences["deadline"], 3);
}

TEST(SchedulerTest, CancelledWorkIsNeverComputed) {
  FakeClock clock;
  Harness harness;
  CountingObserver observer;
  auto scheduler = Start(Options(8), harness, &clock, &observer);
  harness.Hold();
  scheduler->Submit(harness.Request(0, {1}));
  harness.AwaitBatchesStarted(1);
  auto cancelled = harness.Request(1, {1, 1});
  auto flagged = harness.Request(2, {1});
  scheduler->Submit(cancelled);
  scheduler->Submit(flagged);
  scheduler->Submit(harness.Request(3, {1}));
  scheduler->Cancel(*cancelled);  // completes on this thread
  ASSERT_TRUE(harness.completed(1));
  EXPECT_EQ(harness.completion(1).status.code(), absl::StatusCode::kCancelled);
  flagged
      ->MarkCancelled();  // only the flag: dropped when the former gets to it
  scheduler->Cancel(*cancelled);  // again: no second callback
  harness.Release();
  harness.AwaitCompletions(4);
  EXPECT_EQ(harness.completion(1).calls, 1);
  EXPECT_EQ(harness.completion(2).status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(harness.completion(3).status.ok());
  EXPECT_EQ(harness.computed(),
            (std::multiset<std::pair<int, int>>{{0, 0}, {3, 0}}));
  scheduler->Shutdown();
  EXPECT_EQ(observer.sheds["cancelled"], 2);
  EXPECT_EQ(observer.shed_sequences["cancelled"], 3);
}

// gRPC cancels a call when its deadline passes; whether that cancellation or
// the deadline thread gets to the request first, it is an expiry.
TEST(SchedulerTest, CancelAfterTheDeadlineIsADeadlineExpiry) {
  FakeClock clock;
  Harness harness;
  CountingObserver observer;
  auto scheduler = Start(Options(8), harness, &clock, &observer);
  harness.Hold();
  scheduler->Submit(harness.Request(0, {1}));
  harness.AwaitBatchesStarted(1);
  auto expiring = harness.Request(1, {1, 1}, kStart + absl::Milliseconds(5));
  scheduler->Submit(expiring);
  clock.Advance(absl::Milliseconds(5));
  scheduler->Cancel(*expiring);
  harness.AwaitCompleted(1);
  EXPECT_EQ(harness.completion(1).status.code(),
            absl::StatusCode::kDeadlineExceeded);
  // Cancelled and expired before Submit: refused as expired.
  auto late = harness.Request(2, {1}, kStart);
  late->MarkCancelled();
  scheduler->Submit(late);
  EXPECT_EQ(harness.completion(2).status.code(),
            absl::StatusCode::kDeadlineExceeded);
  harness.Release();
  harness.AwaitCompletions(3);
  scheduler->Shutdown();
  EXPECT_EQ(harness.computed(), (std::multiset<std::pair<int, int>>{{0, 0}}));
  EXPECT_EQ(observer.sheds["deadline"], 2);
  EXPECT_EQ(observer.shed_sequences["deadline"], 3);
  EXPECT_EQ(observer.sheds["cancelled"], 0);
}

TEST(SchedulerTest, CancellingASplitRequestDropsItsRemainingSequences) {
  FakeClock clock;
  Harness harness;
  auto scheduler = Start(Options(2), harness, &clock);
  harness.Hold();
  auto request = harness.Request(0, {1, 1, 1, 1, 1, 1});
  scheduler->Submit(request);
  harness.AwaitBatchesStarted(1);  // sequences 0 and 1 are in compute
  scheduler->Cancel(*request);
  EXPECT_EQ(harness.completion(0).status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(scheduler->queued_sequences(), 0);
  harness.Release();
  scheduler->Shutdown();
  EXPECT_EQ(harness.computed(),
            (std::multiset<std::pair<int, int>>{{0, 0}, {0, 1}}));
  EXPECT_EQ(harness.completion(0).calls, 1);
}

TEST(SchedulerTest, SmallRequestsAreNotStarvedByAHugeOne) {
  FakeClock clock;
  Harness harness;
  SchedulerOptions options = Options(32, 1 << 20);
  options.max_queue_size = 2000;
  auto scheduler = Start(options, harness, &clock);
  harness.Hold();
  scheduler->Submit(harness.Request(0, {1}));
  harness.AwaitBatchesStarted(1);
  auto huge = harness.Request(1, std::vector<int64_t>(1000, 8));
  scheduler->Submit(huge);
  for (int id = 2; id < 102; ++id) scheduler->Submit(harness.Request(id, {8}));
  harness.Release();
  harness.AwaitCompletions(102);
  // After the first batch: one turn (32) of the huge request, then the 100
  // small ones in 4 batches; FIFO would have needed 1000 / 32 batches first.
  for (int id = 2; id < 102; ++id) {
    EXPECT_LE(harness.completion(id).batches_started, 1 + 5) << id;
    EXPECT_TRUE(harness.completion(id).status.ok());
  }
  EXPECT_TRUE(harness.completion(1).status.ok());
  ExpectSlotsFilled(*huge);
}

TEST(SchedulerTest, ComputeErrorFailsEveryRequestOfTheBatch) {
  FakeClock clock;
  Harness harness;
  CountingObserver observer;
  auto scheduler = Start(Options(4), harness, &clock, &observer);
  harness.Hold();
  scheduler->Submit(harness.Request(0, {1}));
  harness.AwaitBatchesStarted(1);
  harness.FailBatchesContaining(2, absl::InternalError("boom"));
  scheduler->Submit(harness.Request(1, {1}));
  scheduler->Submit(harness.Request(2, {1, 1, 1, 1, 1}));  // split: 3 + 2
  scheduler->Submit(harness.Request(3, {1}));
  harness.Release();
  harness.AwaitCompletions(4);
  EXPECT_TRUE(harness.completion(0).status.ok());
  for (int id : {1, 2}) {
    EXPECT_EQ(harness.completion(id).status, absl::InternalError("boom"));
  }
  EXPECT_TRUE(harness.completion(3).status.ok());
  // The failed request's second part was dropped, not computed.
  EXPECT_EQ(harness.computed().count({2, 3}), 0u);
  EXPECT_EQ(harness.computed().count({2, 4}), 0u);
  scheduler->Shutdown();
  EXPECT_EQ(observer.batches_failed, 1);
  EXPECT_EQ(observer.depths.back(), 0);
}

TEST(SchedulerTest, ShutdownDrainsTheQueueThenRejects) {
  FakeClock clock;
  Harness harness;
  auto scheduler = Start(Options(2, 1000, absl::Hours(1)), harness, &clock);
  std::vector<std::shared_ptr<TestRequest>> requests;
  for (int id = 0; id < 5; ++id) {
    requests.push_back(harness.Request(id, {1}));
    scheduler->Submit(requests.back());
  }
  scheduler->Shutdown();  // no time passes: the delay is cut short
  for (int id = 0; id < 5; ++id) {
    EXPECT_TRUE(harness.completion(id).status.ok());
    ExpectSlotsFilled(*requests[id]);
  }
  scheduler->Submit(harness.Request(5, {1}));
  EXPECT_EQ(harness.completion(5).status.code(),
            absl::StatusCode::kUnavailable);
  scheduler->Shutdown();  // idempotent
}

TEST(SchedulerTest, EveryWorkerRunsTheInitHookOnItsOwnThread) {
  Harness harness;
  std::mutex mu;
  std::map<int, std::thread::id> seen;
  SchedulerOptions options = Options(4);
  options.num_workers = 3;
  options.worker_init = [&](int worker) {
    std::lock_guard<std::mutex> lock(mu);
    seen[worker] = std::this_thread::get_id();
  };
  auto scheduler = Start(options, harness, nullptr);
  scheduler->Shutdown();
  ASSERT_EQ(seen.size(), 3u);
  std::set<std::thread::id> threads;
  for (const auto& [worker, id] : seen) threads.insert(id);
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

// Many threads submit, cancel and time out concurrently against two workers
// on the real clock. Invariants: every callback runs exactly once, OK
// requests have every slot right, nothing is computed twice, the queue ends
// empty.
TEST(SchedulerTest, ConcurrentSubmittersStress) {
  Harness harness;
  CountingObserver observer;
  SchedulerOptions options = Options(16, 200, absl::Microseconds(200));
  options.num_workers = 2;
  options.max_queue_size = 400;
  options.max_sequences_per_turn = 4;
  harness.SetComputeSleep(std::chrono::microseconds(20));
  auto scheduler = Start(options, harness, nullptr, &observer);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  std::vector<std::vector<std::shared_ptr<TestRequest>>> submitted(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        std::vector<int64_t> tokens(1 + rng() % 6);
        for (int64_t& n : tokens) n = 1 + rng() % 60;
        const int kind = rng() % 10;
        const absl::Time deadline =
            kind == 0 ? absl::Now() + absl::Microseconds(rng() % 500)
                      : absl::InfiniteFuture();
        // Mostly stay under the queue limit, so that most work is accepted.
        while (scheduler->queued_sequences() > 300) std::this_thread::yield();
        auto request = harness.Request(id, std::move(tokens), deadline);
        submitted[t].push_back(request);
        scheduler->Submit(request);
        if (kind == 1) scheduler->Cancel(*request);
        if (kind == 2) request->MarkCancelled();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  harness.AwaitCompletions(kThreads * kPerThread);
  scheduler->Shutdown();
  std::multiset<std::pair<int, int>> computed = harness.computed();
  std::map<absl::StatusCode, int> codes;
  for (const auto& per_thread : submitted) {
    for (const auto& request : per_thread) {
      const Harness::Completion c = harness.completion(request->id);
      EXPECT_EQ(c.calls, 1);
      ++codes[c.status.code()];
      if (c.status.ok()) ExpectSlotsFilled(*request);
      for (int s = 0; s < request->num_sequences(); ++s) {
        EXPECT_LE(computed.count({request->id, s}), 1u);
        if (c.status.ok()) {
          EXPECT_EQ(computed.count({request->id, s}), 1u);
        }
      }
    }
  }
  EXPECT_GT(codes[absl::StatusCode::kOk], 0);
  EXPECT_GT(codes[absl::StatusCode::kCancelled], 0);
  std::fprintf(stderr, "stress: ok %d cancelled %d deadline %d exhausted %d\n",
               codes[absl::StatusCode::kOk],
               codes[absl::StatusCode::kCancelled],
               codes[absl::StatusCode::kDeadlineExceeded],
               codes[absl::StatusCode::kResourceExhausted]);
  for (const auto& [code, count] : codes) {
    EXPECT_TRUE(code == absl::StatusCode::kOk ||
                code == absl::StatusCode::kCancelled ||
                code == absl::StatusCode::kDeadlineExceeded ||
                code == absl::StatusCode::kResourceExhausted)
        << code;
  }
  for (const auto& batch : harness.batches()) EXPECT_LE(batch.size(), 16u);
  EXPECT_EQ(observer.depths.back(), 0);
  EXPECT_EQ(observer.sequences_formed, static_cast<int64_t>(computed.size()));
  EXPECT_EQ(scheduler->queued_sequences(), 0);
}

}  // namespace
}  // namespace attnserve::server
