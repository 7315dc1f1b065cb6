#ifndef ATTNSERVE_SERVER_SERVER_FLAGS_H_
#define ATTNSERVE_SERVER_SERVER_FLAGS_H_

#include "absl/status/statusor.h"
#include "server/server.h"

namespace attnserve::server {

// Parses attnserve's command line (CONTRACT.md §6 flags); every occurrence
// of a repeated --model counts.
void ParseServerFlags(int argc, char** argv);

// Server::Options from the parsed flags, checked (Server::CheckOptions), with
// the TLS credentials read from --tls_cert, --tls_key and --tls_client_ca.
// Errors name the flag.
absl::StatusOr<Server::Options> ServerOptionsFromFlags();

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SERVER_FLAGS_H_
