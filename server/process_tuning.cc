#include "server/process_tuning.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace attnserve::server {

// The compute thread's OpenMP team (see ComputeExecutor) waits between
// parallel regions as libgomp's wait policy says. Its default spin (3 * 10^5
// iterations) holds the cores while idle: with other work on the machine (or,
// before ComputeExecutor, other teams waiting their turn) a 36-token encode
// took 1156 ms instead of 11 ms on a shared 2-core machine. libgomp reads its
// wait policy when it loads, before main, so when the operator has set neither
// OMP_WAIT_POLICY nor GOMP_SPINCOUNT the server re-executes itself once with
// GOMP_SPINCOUNT=1000: an idle team thread spins briefly (tens of
// microseconds) and then sleeps. Measured on a 2-core machine, MiniLM-L6, one
// 16-token text through gRPC (attnbench, 1 client, p50): passive (no spin,
// every parallel region wakes a sleeping thread) 3.9 ms; GOMP_SPINCOUNT 1000
// or 10^5 1.6 ms.
// Issue 13 measured longer spins again (bench/idle_latency.py, RESULTS.md):
// on a quiet core 10^5 makes calls faster (warm p50 2.2 vs 4.0 ms) but not
// the calls after an idle gap relative to warm (the slow first calls are the
// machine's: ONNX Runtime in process shows the same ramp), and with the cores
// shared with other work it is 3-15x slower (warm p50 41-195 ms with 10^4 or
// 10^5 vs 7-18 ms with 1000 at load average 8). 1000 stays the default.
void PreferShortOpenMPSpinning(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr ||
      std::getenv("GOMP_SPINCOUNT") != nullptr) {
    return;
  }
  setenv("GOMP_SPINCOUNT", "1000", 1);
  execv("/proc/self/exe", argv);
  // execv returned: keep running with the default policy.
}

// glibc's malloc defaults let a server's RSS drift upwards with traffic
// (measured with tests/e2e/faults_python_test.py; each setting below made its
// RSS check flat):
// - each thread that contends for malloc gets an arena of its own, up to 8 per
//   core, and gRPC's callback threads spread small allocations over arenas
//   that are rarely returned to the system (32 -> 56 MiB over 3000 malformed
//   requests). Use one arena per 4 cores, at least 2.
// - the mmap threshold starts at 128 KiB and rises to the size of each large
//   block freed, so request-sized buffers (MiBs) move into the heap, where
//   they fragment it and stay. Fix it at 1 MiB: larger blocks are always
//   mapped and unmapped.
// The operator's MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ take precedence.
void TuneMalloc() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(
                             2u, std::thread::hardware_concurrency() / 4)));
  }
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
  }
}

void BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

}  // namespace attnserve::server
