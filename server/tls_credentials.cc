#include "server/tls_credentials.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "grpcpp/security/server_credentials.h"

namespace attnserve::server {
namespace {

// PEM files of a certificate chain and its key are a few KiB.
constexpr int64_t kMaxPemBytes = int64_t{16} << 20;

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* flag) {
  absl::StatusOr<std::string> pem = core::ReadFile(path, kMaxPemBytes);
  if (!pem.ok()) {
    return absl::Status(
        pem.status().code(),
        absl::StrCat("--", flag, ": cannot read ", pem.status().message()));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const std::string& cert_path, const std::string& key_path,
    const std::string& client_ca_path) {
  if (cert_path.empty() && key_path.empty() && client_ca_path.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (cert_path.empty() || key_path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert and --tls_key");
  }
  ASSIGN_OR_RETURN(std::string cert, ReadPem(cert_path, "tls_cert"));
  ASSIGN_OR_RETURN(std::string key, ReadPem(key_path, "tls_key"));
  grpc::SslServerCredentialsOptions options(
      client_ca_path.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_key_cert_pairs.push_back({key, cert});
  if (!client_ca_path.empty()) {
    ASSIGN_OR_RETURN(std::string ca, ReadPem(client_ca_path, "tls_client_ca"));
    options.pem_root_certs = ca;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace attnserve::server
