#ifndef ATTNSERVE_CORE_BASE_PARALLEL_H_
#define ATTNSERVE_CORE_BASE_PARALLEL_H_

#include <cstdint>

#include "absl/functional/function_ref.h"

namespace attnserve::core {

// Threading model: oneDNN runs on the OpenMP (libgomp) team of the thread
// that calls it. The project's own kernels use the same team through
// ParallelFor, so the compute worker owns `ComputeThreads()` cores and nothing
// else spins on them. No -fopenmp is needed: libgomp's entry points are
// called directly.

// Sets the OpenMP team size for the calling thread and later teams.
void SetComputeThreads(int n);
int ComputeThreads();

// Splits [0, n) into contiguous chunks, one per team thread, and runs
// fn(begin, end) on each. Runs inline when n is small or the team has one
// thread. Must not be nested.
void ParallelFor(int64_t n,
                 absl::FunctionRef<void(int64_t begin, int64_t end)> fn);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BASE_PARALLEL_H_
