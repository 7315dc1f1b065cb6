#include "client/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace attnserve::client {
namespace {

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::string> HttpGet(absl::string_view address,
                                    absl::string_view path, int timeout_ms) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("address ", address, " is not host:port"));
  }
  std::string host(address.substr(0, colon));
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("host ", host, " is not an IPv4 address"));
  }
  Socket socket;
  if (socket.fd() < 0 ||
      ::connect(socket.fd(), reinterpret_cast<sockaddr*>(&addr),
                sizeof(addr)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect ", address, ": ", std::strerror(errno)));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", address,
                   "\r\nConnection: close\r\n\r\n");
  if (::send(socket.fd(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return absl::UnavailableError(absl::StrCat("send to ", address, " failed"));
  }
  std::string response;
  char buffer[16384];
  while (true) {
    pollfd pfd{socket.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("no answer from ", address));
    }
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof(buffer), 0);
    if (n < 0)
      return absl::UnavailableError(
          absl::StrCat("recv from ", address, " failed"));
    if (n == 0) break;
    response.append(buffer, size_t(n));
  }
  const size_t body = response.find("\r\n\r\n");
  if (response.compare(0, 9, "HTTP/1.1 ") != 0 &&
      response.compare(0, 9, "HTTP/1.0 ") != 0) {
    return absl::InternalError(
        absl::StrCat("not an HTTP response from ", address));
  }
  if (response.compare(9, 3, "200") != 0 || body == std::string::npos) {
    return absl::InternalError(absl::StrCat("GET ", path, " from ", address,
                                            ": ", response.substr(0, 40)));
  }
  return response.substr(body + 4);
}

}  // namespace attnserve::client
