#include "server/api/schedule_sequences.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/runtime/call_reactor.h"

namespace attnserve::server {

grpc::ServerUnaryReactor* ScheduleSequences(
    grpc::CallbackServerContext* context, ShutdownGate* gate,
    const ServedModel& model, absl::StatusOr<PreparedSequences> prepared,
    absl::string_view sequences_field,
    std::function<absl::Status(const EncodeWork&)> finish) {
  auto* reactor = new ScheduledCallReactor(gate);
  if (!prepared.ok()) {
    reactor->Finish(ToGrpcStatus(prepared.status()));
    return reactor;
  }
  const int max_queue_size = model.scheduler->options().max_queue_size;
  if (static_cast<int64_t>(prepared->token_ids.size()) > max_queue_size) {
    reactor->Finish(ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat(sequences_field, " has ", prepared->token_ids.size(),
                     " entries, more than the server's --max_queue_size ",
                     max_queue_size))));
    return reactor;
  }
  auto work = std::make_shared<EncodeWork>(
      std::move(prepared->token_ids), std::move(prepared->token_type_ids),
      prepared->options, CallDeadline(*context));
  work->set_done(
      [reactor, work, finish = std::move(finish)](absl::Status status) {
        if (status.ok()) status = finish(*work);
        reactor->Finish(ToGrpcStatus(status));
      });
  reactor->Submit(model.scheduler, std::move(work));
  return reactor;
}

}  // namespace attnserve::server
