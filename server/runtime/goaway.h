#ifndef ATTNSERVE_SERVER_RUNTIME_GOAWAY_H_
#define ATTNSERVE_SERVER_RUNTIME_GOAWAY_H_

#include "grpcpp/server.h"

namespace attnserve::server {

// The drain's first step, while the server still serves every call that
// reaches it: the port stops accepting connections and every connection gets
// HTTP/2 GOAWAY. Clients open their next calls on other replicas (they cannot
// reconnect here); a call that raced the GOAWAY is served; one round trip
// later the transport sends the final GOAWAY and refuses later streams, which
// the client retries elsewhere by itself (gRPC's transparent retry). Returns
// once both are started.
//
// grpc::Server::Shutdown does the same, but only after it has begun to cancel
// new calls: in gRPC 1.51 a call whose headers arrive after Shutdown began and
// before the client has read the GOAWAY is cancelled (status CANCELLED, which
// no client retries). Without health checking a client keeps sending until
// that GOAWAY, so a few calls per SIGTERM failed.
void StopListeningAndSendGoaways(grpc::Server& server);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_RUNTIME_GOAWAY_H_
