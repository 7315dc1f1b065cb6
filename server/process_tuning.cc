#include "server/process_tuning.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace attnserve::server {

// The compute thread's OpenMP team (see ComputeExecutor) waits between
// parallel regions as libgomp's wait policy says: spin GOMP_SPINCOUNT
// iterations, then sleep in the kernel. libgomp reads the policy when it
// loads, before main, so when the operator has set neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT the server re-executes itself once with GOMP_SPINCOUNT=3000.
// - Between requests the team does not spin at all: ComputeExecutor parks it
//   (core::ParkTeamDuring), so an idle server uses no CPU whatever the spin.
// - Within one encode (~38 parallel regions for 6 layers) the spin must bridge
//   the gaps between regions, else the other thread sleeps and is woken at
//   every region. Measured (bench/encoder_timing, MiniLM-L6, 16 tokens, 2
//   threads, Xeon under KVM, PAUSE ~10.6 ns): context switches over 300
//   encodes 8275 with 1000 (~11 us of spin), 210 with 3000, 74 with 10^4;
//   encode 3.10 vs 1.85 ms. Through gRPC (bench/idle_latency.py) warm p50
//   2.5 ms with 3000 and parking vs 3.4-4.0 ms with 1000 before.
// - A longer spin wastes a core whenever another process holds the core the
//   team is waiting for: libgomp's default (3 * 10^5) made a 36-token encode
//   take 1156 ms instead of 11 ms on a shared 2-core machine, and 10^4-10^5
//   were 3-15x slower than 1000 at load average 8. With two CPU-bound
//   neighbours of equal weight, 3000 + parking and 1000 gave medians of 7.9
//   and 9.4 ms warm (bench/idle_latency.py under `nice -n -15` with two
//   `nice -n -15` busy loops): within the noise of that set-up.
void PreferShortOpenMPSpinning(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr ||
      std::getenv("GOMP_SPINCOUNT") != nullptr) {
    return;
  }
  setenv("GOMP_SPINCOUNT", "3000", 1);
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
