#ifndef ATTNSERVE_SERVER_API_SCHEDULE_SEQUENCES_H_
#define ATTNSERVE_SERVER_API_SCHEDULE_SEQUENCES_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/infer/classify.h"
#include "server/infer/encode_work.h"
#include "server/runtime/model_registry.h"
#include "server/runtime/shutdown_gate.h"

namespace attnserve::server {

// Shared by the protocol adapters (api/v1, api/kserve_v2): queues the
// prepared sequences of a unary call as one EncodeWork on the model's
// batching scheduler (so calls of every protocol batch together) and returns
// the call's reactor. When the work is computed, `finish` fills the response
// from it; the call ends with its status, or with the compute's error. A
// failed `prepared` ends the call with its error; more sequences than the
// queue holds is RESOURCE_EXHAUSTED naming `sequences_field`.
grpc::ServerUnaryReactor* ScheduleSequences(
    grpc::CallbackServerContext* context, ShutdownGate* gate,
    const ServedModel& model, absl::StatusOr<PreparedSequences> prepared,
    absl::string_view sequences_field,
    std::function<absl::Status(const EncodeWork&)> finish);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_API_SCHEDULE_SEQUENCES_H_
