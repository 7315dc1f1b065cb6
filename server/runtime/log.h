#ifndef ATTNSERVE_SERVER_RUNTIME_LOG_H_
#define ATTNSERVE_SERVER_RUNTIME_LOG_H_

namespace attnserve::server {

// One line "attnserve: <printf format>" on stderr, flushed.
void Log(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_RUNTIME_LOG_H_
