#include "server/runtime/goaway.h"

#include <future>

#include "grpc/support/time.h"
#include "grpcpp/alarm.h"

// gRPC 1.51 has no public API for either step. Its core server has both as
// public member functions (src/core/lib/surface/server.h:
// grpc_core::Server::StopListening, and SendGoaways, which gRPC's xDS server
// drain uses), exported by libgrpc.so.29; they are declared here. The
// grpc_server* of grpc::Server::c_server() is the address of its
// grpc_core::Server (grpc_core::CppImplOf). server/CMakeLists.txt accepts
// gRPC 1.51 only, because of this file.
namespace grpc_core {
class Server {
 public:
  void StopListening();
  void SendGoaways();
};
}  // namespace grpc_core

namespace attnserve::server {

void StopListeningAndSendGoaways(grpc::Server& server) {
  auto* core = reinterpret_cast<grpc_core::Server*>(server.c_server());
  // Both must run inside gRPC's execution context (an ExecCtx), as the C API
  // functions do: a callback alarm runs its function on a gRPC executor
  // thread, inside one.
  std::promise<void> done;
  grpc::Alarm alarm;
  alarm.Set(gpr_now(GPR_CLOCK_MONOTONIC), [core, &done](bool /*fired*/) {
    core->StopListening();
    core->SendGoaways();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace attnserve::server
