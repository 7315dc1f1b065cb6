#include "core/base/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

extern "C" {
// libgomp's ABI (the calls gcc emits for `#pragma omp parallel`).
void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads,
                   unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
void omp_set_num_threads(int);
int omp_get_max_threads(void);
}

namespace attnserve::core {
namespace {

struct Job {
  int64_t n;
  absl::FunctionRef<void(int64_t, int64_t)>* fn;
};

void RunChunk(void* arg) {
  const Job* job = static_cast<const Job*>(arg);
  const int64_t threads = omp_get_num_threads();
  const int64_t t = omp_get_thread_num();
  const int64_t chunk = (job->n + threads - 1) / threads;
  const int64_t begin = std::min(job->n, t * chunk);
  const int64_t end = std::min(job->n, begin + chunk);
  if (begin < end) (*job->fn)(begin, end);
}

struct Park {
  explicit Park(absl::FunctionRef<void()>* wait) : wait(wait) {}
  absl::FunctionRef<void()>* wait;
  std::mutex mu;
  std::condition_variable released_cv;
  bool released = false;  // guarded by mu
};

void RunPark(void* arg) {
  Park* park = static_cast<Park*>(arg);
  std::unique_lock<std::mutex> lock(park->mu);
  if (omp_get_thread_num() != 0) {
    park->released_cv.wait(lock, [park] { return park->released; });
    return;
  }
  lock.unlock();
  (*park->wait)();
  lock.lock();
  park->released = true;
  lock.unlock();
  park->released_cv.notify_all();
}

}  // namespace

void SetComputeThreads(int n) { omp_set_num_threads(std::max(1, n)); }

int ComputeThreads() { return omp_get_max_threads(); }

void ParallelFor(int64_t n,
                 absl::FunctionRef<void(int64_t begin, int64_t end)> fn) {
  const int threads = omp_get_max_threads();
  if (n <= 0) return;
  if (threads <= 1 || n == 1) {
    fn(0, n);
    return;
  }
  Job job{n, &fn};
  GOMP_parallel(RunChunk, &job,
                static_cast<unsigned>(std::min<int64_t>(threads, n)), 0);
}

void ParkTeamDuring(absl::FunctionRef<void()> wait) {
  const int threads = omp_get_max_threads();
  if (threads <= 1) {
    wait();
    return;
  }
  Park park(&wait);
  GOMP_parallel(RunPark, &park, static_cast<unsigned>(threads), 0);
}

}  // namespace attnserve::core
