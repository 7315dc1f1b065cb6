#ifndef ATTNSERVE_CORE_BASE_STATUS_MACROS_H_
#define ATTNSERVE_CORE_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"

// Early returns for absl::Status / absl::StatusOr<T>, as in TensorFlow and
// Abseil-based code bases. The status is passed up unchanged.

// RETURN_IF_ERROR(expr): returns expr's status from the enclosing function
// when it is not OK. expr is an absl::Status or an absl::StatusOr<T>.
#define RETURN_IF_ERROR(expr)                                          \
  do {                                                                 \
    if (::absl::Status attnserve_status_ =                             \
            ::attnserve::core::status_macros_internal::ToStatus(expr); \
        !attnserve_status_.ok()) {                                     \
      return attnserve_status_;                                        \
    }                                                                  \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates expr, an absl::StatusOr<T>; returns
// its status when it is not OK, else moves its value into lhs, which may be a
// declaration (`auto x`, `Tensor t`) or an existing lvalue.
#define ASSIGN_OR_RETURN(lhs, expr)                                        \
  ATTNSERVE_ASSIGN_OR_RETURN_IMPL_(                                        \
      ATTNSERVE_STATUS_MACROS_CONCAT_(attnserve_statusor_, __LINE__), lhs, \
      expr)

#define ATTNSERVE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  if (!statusor.ok()) return std::move(statusor).status();    \
  lhs = *std::move(statusor)

#define ATTNSERVE_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define ATTNSERVE_STATUS_MACROS_CONCAT_(a, b) \
  ATTNSERVE_STATUS_MACROS_CONCAT_INNER_(a, b)

namespace attnserve::core::status_macros_internal {

inline const absl::Status& ToStatus(const absl::Status& status) {
  return status;
}
template <class T>
const absl::Status& ToStatus(const T& status_or) {
  return status_or.status();
}

}  // namespace attnserve::core::status_macros_internal

#endif  // ATTNSERVE_CORE_BASE_STATUS_MACROS_H_
