#ifndef ATTNSERVE_SERVER_TLS_CREDENTIALS_H_
#define ATTNSERVE_SERVER_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace attnserve::server {

// The listening port's credentials from PEM files (--tls_cert, --tls_key,
// --tls_client_ca): insecure when all three are empty, TLS with cert and key,
// mTLS when client_ca is set too. Errors name the flag.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const std::string& cert_path, const std::string& key_path,
    const std::string& client_ca_path);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_TLS_CREDENTIALS_H_
