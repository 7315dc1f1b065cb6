#include "server/runtime/log.h"

#include <cstdarg>
#include <cstdio>

namespace attnserve::server {

void Log(const char* format, ...) {
  std::fputs("attnserve: ", stderr);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace attnserve::server
