#ifndef ATTNSERVE_SERVER_PROCESS_TUNING_H_
#define ATTNSERVE_SERVER_PROCESS_TUNING_H_

namespace attnserve::server {

// Re-executes the process with GOMP_SPINCOUNT=3000 unless the operator set
// OMP_WAIT_POLICY or GOMP_SPINCOUNT (libgomp reads them before main).
void PreferShortOpenMPSpinning(char** argv);

// glibc malloc settings that keep a long-running server's RSS flat, unless
// the operator set MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_.
void TuneMalloc();

// Blocks SIGTERM and SIGINT in the calling thread and the threads it starts
// later, for Server::Wait's sigwait: call before any thread starts.
void BlockShutdownSignals();

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_PROCESS_TUNING_H_
