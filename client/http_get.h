#ifndef ATTNSERVE_CLIENT_HTTP_GET_H_
#define ATTNSERVE_CLIENT_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnserve::client {

// A plain HTTP/1.0 GET of `path` from `address` ("host:port", IPv4), for
// reading the Prometheus endpoint. Returns the body of a 200 response.
// Gives up after `timeout_ms`.
absl::StatusOr<std::string> HttpGet(absl::string_view address,
                                    absl::string_view path,
                                    int timeout_ms = 5000);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_HTTP_GET_H_
