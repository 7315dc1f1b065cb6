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

// Runs `wait` on the calling thread while the other threads of its OpenMP
// team sleep until it returns. Call it where the compute thread waits for its
// next task: libgomp's threads otherwise wait between parallel regions by
// spinning for GOMP_SPINCOUNT iterations and then sleeping in the kernel, so
// a spin long enough to bridge the gaps between the regions of one encode
// would also spin on through every idle gap between requests. Parked, the
// team costs no CPU while idle and is woken once per task rather than once
// per parallel region. Runs `wait` inline when the team has one thread. Not
// from inside a parallel region.
void ParkTeamDuring(absl::FunctionRef<void()> wait);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BASE_PARALLEL_H_
