// attnserve: the gRPC server binary. Flags: CONTRACT.md §6 (README.md lists
// them with defaults); the server itself is the library in server/server.h.

#include <string>

#include "absl/flags/usage.h"
#include "server/process_tuning.h"
#include "server/runtime/log.h"
#include "server/server.h"
#include "server/server_flags.h"

int main(int argc, char** argv) {
  using namespace attnserve::server;
  PreferShortOpenMPSpinning(argv);
  TuneMalloc();
  // Server::Wait takes the signals with sigwait(): block them before any
  // thread starts so that every thread inherits the mask.
  BlockShutdownSignals();

  absl::SetProgramUsageMessage(
      "attnserve: gRPC attention and encoder service (see README.md)");
  ParseServerFlags(argc, argv);
  absl::StatusOr<Server::Options> options = ServerOptionsFromFlags();
  if (!options.ok()) {
    Log("%s", std::string(options.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::BuildAndStart(*options);
  if (!server.ok()) {
    Log("%s", std::string(server.status().message()).c_str());
    return 1;
  }
  (*server)->Wait();
  return 0;
}
