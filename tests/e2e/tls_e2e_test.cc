// TLS and mTLS (--tls_cert, --tls_key, --tls_client_ca) with certificates
// made by the openssl CLI for this run.

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "attnserve/v1/attnserve.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/proto_tensors.h"
#include "tests/e2e/server_process.h"

namespace attnserve::e2e {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, all
// signed by the CA, in a fresh temporary directory.
class Certificates {
 public:
  Certificates() {
    char dir[] = "/tmp/attnserve_tls_XXXXXX";
    dir_ = mkdtemp(dir);
    std::ofstream(path("make_certs.sh")) << R"(set -e
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -keyout ca.key -out ca.pem -days 1 -subj /CN=attnserve-test-ca
for who in server client; do
  openssl req $key -keyout $who.key -out $who.csr -subj /CN=$who
  printf "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=${who}Auth\n" > $who.ext
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
    -extfile $who.ext -out $who.pem
done
)";
    ok_ =
        std::system(("cd " + dir_ + " && bash make_certs.sh >openssl.log 2>&1")
                        .c_str()) == 0;
  }
  ~Certificates() { std::system(("rm -rf " + dir_).c_str()); }

  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string pem(const std::string& name) const {
    return ReadFile(path(name));
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

grpc::Status Attend(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::AttentionService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::AttendRequest request;
  *request.mutable_query() = ProtoTensor({1, 2, 4}, RandomFloats(8, 1));
  v1::AttendResponse response;
  return stub->Attend(&context, request, &response);
}

TEST(TlsE2ETest, TlsServesAndMutualTlsRequiresAClientCertificate) {
  Certificates certs;
  ASSERT_TRUE(certs.ok()) << "openssl failed";
  grpc::SslCredentialsOptions with_client_cert;
  with_client_cert.pem_root_certs = certs.pem("ca.pem");
  with_client_cert.pem_private_key = certs.pem("client.key");
  with_client_cert.pem_cert_chain = certs.pem("client.pem");
  grpc::SslCredentialsOptions server_auth_only;
  server_auth_only.pem_root_certs = certs.pem("ca.pem");

  {  // TLS: any client that trusts the CA.
    std::string error;
    std::unique_ptr<ServerProcess> server =
        ServerProcess::Start({"--tls_cert", certs.path("server.pem"),
                              "--tls_key", certs.path("server.key")},
                             &error, grpc::SslCredentials(server_auth_only));
    ASSERT_NE(server, nullptr) << error;
    EXPECT_TRUE(Attend(server->NewChannel()).ok());
    EXPECT_EQ(Attend(server->NewChannel(grpc::InsecureChannelCredentials()))
                  .error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  {  // mTLS: the client must present a certificate signed by the CA.
    std::string error;
    std::unique_ptr<ServerProcess> server = ServerProcess::Start(
        {"--tls_cert", certs.path("server.pem"), "--tls_key",
         certs.path("server.key"), "--tls_client_ca", certs.path("ca.pem")},
        &error, grpc::SslCredentials(with_client_cert));
    ASSERT_NE(server, nullptr) << error;
    grpc::Status status = Attend(server->NewChannel());
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(Attend(server->NewChannel(grpc::SslCredentials(server_auth_only)))
                  .error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
}

TEST(TlsE2ETest, MissingKeyFileIsAStartupError) {
  Certificates certs;
  ASSERT_TRUE(certs.ok()) << "openssl failed";
  std::string error;
  EXPECT_EQ(ServerProcess::Start({"--tls_cert", certs.path("server.pem"),
                                  "--tls_key", certs.path("missing.key")},
                                 &error),
            nullptr);
  EXPECT_THAT(error, ::testing::HasSubstr("--tls_key: cannot read"));
}

}  // namespace
}  // namespace attnserve::e2e
