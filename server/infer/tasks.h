#ifndef ATTNSERVE_SERVER_INFER_TASKS_H_
#define ATTNSERVE_SERVER_INFER_TASKS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/runtime/model_registry.h"

namespace attnserve::server {

// OK when `model` serves `task` ("embed", "sparse", "rerank", "classify");
// else INVALID_ARGUMENT naming the model, `call` (e.g. "Rerank") and the
// tasks the model does serve (CONTRACT.md §9).
absl::Status CheckServes(const ServedModel& model, absl::string_view task,
                         absl::string_view call);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFER_TASKS_H_
