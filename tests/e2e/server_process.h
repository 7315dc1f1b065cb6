#ifndef ATTNSERVE_TESTS_E2E_SERVER_PROCESS_H_
#define ATTNSERVE_TESTS_E2E_SERVER_PROCESS_H_

// Starts the real build/bin/attnserve for end-to-end tests: on 127.0.0.1 with
// ports chosen by the server (read back from its log), waits until health says
// SERVING, and stops it (SIGTERM, then SIGKILL) within bounded time.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace attnserve::e2e {

// This test and build/bin/attnserve come from the same build, so this tells
// whether the server runs under ThreadSanitizer.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
inline constexpr bool kThreadSanitizer = __has_feature(thread_sanitizer);
#else
inline constexpr bool kThreadSanitizer = false;
#endif

class ServerProcess {
 public:
  // Starts attnserve with `args` added to `--address 127.0.0.1:0
  // --metrics_address 127.0.0.1:0`. Returns null (and fills `error`) when it
  // does not become SERVING within 30 s (120 s under ThreadSanitizer).
  // Under ThreadSanitizer the server computes on one thread (`args` may say
  // otherwise): Debian's libgomp is not instrumented, so its OpenMP team's
  // hand-offs look like races; with one thread there is no team.
  // `credentials` are the client's (default: plaintext).
  static std::unique_ptr<ServerProcess> Start(
      const std::vector<std::string>& args, std::string* error,
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr) {
    std::unique_ptr<ServerProcess> server(new ServerProcess());
    server->credentials_ = credentials != nullptr
                               ? credentials
                               : grpc::InsecureChannelCredentials();
    char log_path[] = "/tmp/attnserve_e2e_XXXXXX";
    const int log_fd = mkstemp(log_path);
    if (log_fd < 0) {
      *error = "mkstemp failed";
      return nullptr;
    }
    server->log_path_ = log_path;
    std::vector<std::string> argv = {
        std::string(ATTNSERVE_BINARY_DIR) + "/bin/attnserve", "--address",
        "127.0.0.1:0", "--metrics_address", "127.0.0.1:0"};
    if (kThreadSanitizer) argv.insert(argv.end(), {"--compute_threads", "1"});
    argv.insert(argv.end(), args.begin(), args.end());
    server->pid_ = fork();
    if (server->pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      std::vector<char*> c_argv;
      for (std::string& a : argv) c_argv.push_back(a.data());
      c_argv.push_back(nullptr);
      execv(c_argv[0], c_argv.data());
      _exit(127);
    }
    close(log_fd);
    const std::chrono::seconds start_timeout(kThreadSanitizer ? 120 : 30);
    const auto give_up = std::chrono::steady_clock::now() + start_timeout;
    const std::regex listening(
        "attnserve: listening on 127\\.0\\.0\\.1:([0-9]+)");
    const std::regex metrics(
        "metrics on http://127\\.0\\.0\\.1:([0-9]+)/metrics");
    while (std::chrono::steady_clock::now() < give_up) {
      if (server->Exited()) {
        *error = "attnserve exited with code " +
                 std::to_string(server->WaitForExit({})) +
                 " during start-up:\n" + server->Log();
        return nullptr;
      }
      const std::string log = server->Log();
      std::smatch grpc_port, metrics_port;
      if (std::regex_search(log, grpc_port, listening) &&
          std::regex_search(log, metrics_port, metrics)) {
        server->address_ = "127.0.0.1:" + grpc_port[1].str();
        server->metrics_port_ = std::stoi(metrics_port[1].str());
        if (server->HealthStatus("") ==
            grpc::health::v1::HealthCheckResponse::SERVING) {
          return server;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    *error = "attnserve did not become SERVING within " +
             std::to_string(start_timeout.count()) + " s:\n" + server->Log();
    return nullptr;
  }

  ~ServerProcess() {
    if (pid_ > 0 && !Exited()) Terminate();
    if (!log_path_.empty()) unlink(log_path_.c_str());
  }

  const std::string& address() const { return address_; }
  int metrics_port() const { return metrics_port_; }
  std::string Log() const {
    std::ifstream file(log_path_);
    std::stringstream contents;
    contents << file.rdbuf();
    return contents.str();
  }

  std::shared_ptr<grpc::Channel> NewChannel() const {
    return NewChannel(credentials_);
  }
  std::shared_ptr<grpc::Channel> NewChannel(
      std::shared_ptr<grpc::ChannelCredentials> credentials) const {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    return grpc::CreateCustomChannel(address_, credentials, args);
  }

  // grpc.health.v1 Check for `service`; -1 when the call fails.
  int HealthStatus(const std::string& service) const {
    auto stub = grpc::health::v1::Health::NewStub(NewChannel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    if (!stub->Check(&context, request, &response).ok()) return -1;
    return response.status();
  }

  void Signal(int signal_number) const { kill(pid_, signal_number); }

  // SIGTERM, then SIGKILL after 20 s. Returns the exit code, or 128 + signal.
  int Terminate() {
    Signal(SIGTERM);
    return WaitForExit(std::chrono::seconds(20));
  }

  // Waits for the process to end; SIGKILLs it after `timeout`.
  int WaitForExit(std::chrono::seconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (!Exited() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!Exited()) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      exit_status_ = status;
      exited_ = true;
    }
    return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_)
                                   : 128 + WTERMSIG(exit_status_);
  }

  // The body of GET /metrics ("" when the request fails).
  std::string ScrapeMetrics() const {
    return HttpGet(metrics_port_, "/metrics");
  }

 private:
  ServerProcess() = default;

  bool Exited() {
    if (exited_) return true;
    if (waitpid(pid_, &exit_status_, WNOHANG) == pid_) exited_ = true;
    return exited_;
  }

  static std::string HttpGet(int port, const std::string& path) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return "";
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    std::string response;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      const std::string request =
          "GET " + path +
          " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
      if (write(fd, request.data(), request.size()) ==
          ssize_t(request.size())) {
        char buffer[4096];
        ssize_t n;
        while ((n = read(fd, buffer, sizeof(buffer))) > 0)
          response.append(buffer, n);
      }
    }
    close(fd);
    const size_t body = response.find("\r\n\r\n");
    return body == std::string::npos ? "" : response.substr(body + 4);
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = 0;
  std::string log_path_;
  std::string address_;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

}  // namespace attnserve::e2e

#endif  // ATTNSERVE_TESTS_E2E_SERVER_PROCESS_H_
