// Builds against the installed attnserve client and asks an address where no
// server listens: the call must fail with UNAVAILABLE after its retries.
#include <cstdio>

#include "client/client.h"

int main() {
  attnserve::ClientOptions options;
  options.address = "127.0.0.1:1";
  options.timeout = std::chrono::milliseconds(2000);
  options.max_retries = 1;
  attnserve::Client client(options);
  attnserve::v1::ListModelsResponse response;
  grpc::Status status = client.ListModels(&response);
  std::printf("status %d\n", static_cast<int>(status.error_code()));
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ? 0 : 1;
}
