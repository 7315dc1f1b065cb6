#include "server/api/v1/encoder_service.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/api/schedule_sequences.h"
#include "server/api/v1/encode_request.h"
#include "server/api/v1/proto_convert.h"
#include "server/infer/classify.h"
#include "server/infer/detokenize.h"
#include "server/infer/encode_work.h"
#include "server/infer/tokenize.h"
#include "server/runtime/call_reactor.h"

namespace attnserve::server {
namespace {

v1::Pooling PoolingToProto(core::Pooling pooling) {
  switch (pooling) {
    case core::Pooling::kCls:
      return v1::CLS;
    case core::Pooling::kMean:
      return v1::MEAN;
    case core::Pooling::kMax:
      return v1::MAX;
    case core::Pooling::kLast:
      return v1::LAST;
  }
  return v1::POOLING_UNSPECIFIED;
}

// An Encode request ready to queue: the work and the response shaping. `done`
// runs with the outcome (the response is filled when it is OK).
absl::StatusOr<std::shared_ptr<EncodeWork>> MakeEncodeWork(
    const v1::EncodeRequest& request, std::shared_ptr<const ServedModel> model,
    absl::Time deadline, v1::EncodeResponse* response,
    std::function<void(const absl::Status&)> done) {
  // Each text is a sequence: more than the queue holds can never be admitted;
  // refuse it before tokenizing.
  const int sequences =
      std::max(request.texts_size(), request.token_ids_size());
  const int max_queue_size = model->scheduler->options().max_queue_size;
  if (sequences > max_queue_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        request.texts_size() > 0 ? "texts" : "token_ids", " has ", sequences,
        " entries, more than the server's --max_queue_size ", max_queue_size));
  }
  ASSIGN_OR_RETURN(PreparedEncode prepared, PrepareEncode(request, *model));
  // Chunked texts are several sequences each.
  if (static_cast<int64_t>(prepared.token_ids.size()) > max_queue_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "texts make ", prepared.token_ids.size(),
        " chunks, more than the server's --max_queue_size ", max_queue_size));
  }
  auto work = std::make_shared<EncodeWork>(std::move(prepared.token_ids),
                                           prepared.options, deadline);
  auto shaping = std::make_shared<const PreparedEncode>(std::move(prepared));
  work->set_done([work, shaping, model, response,
                  done = std::move(done)](absl::Status status) {
    if (status.ok()) {
      status = FillEncodeResponse(*shaping, *work, *model, response);
    }
    done(status);
  });
  return work;
}

// What one EncodeStream keeps in the server: requests read but not yet
// answered. Past either limit the stream stops reading until answers have
// been written (gRPC flow control then holds the client back), so a slow
// reader or a client that never reads holds a bounded amount of memory.
constexpr int kStreamMaxInFlightRequests = 64;
// Responses of 64 MiB (the default --max_message_bytes) in flight at most.
constexpr int64_t kStreamMaxInFlightResponseBytes = int64_t{64} << 20;

// The response size a computed EncodeWork will have, roughly: pooled
// vectors, token embeddings and attention maps, FP32.
int64_t EstimatedResponseBytes(const EncodeWork& work, const ServedModel& model,
                               bool token_embeddings) {
  const int64_t hidden = model.info.hidden_size;
  const int64_t heads = model.info.num_heads;
  const int64_t maps = int64_t(work.options().attention_layers.size());
  int64_t bytes = 0;
  for (const std::vector<int32_t>& ids : work.token_ids()) {
    const int64_t length = int64_t(ids.size());
    bytes += 4 * (hidden + (token_embeddings ? length * hidden : 0) +
                  maps * heads * length * length);
  }
  return bytes;
}

// Reads EncodeRequest messages as bytes and writes EncodeResponse bytes (see
// EncoderServiceImpl::EncodeStream). Pipelined: it keeps reading while
// earlier requests compute (each is queued on its model's scheduler as it
// arrives, so a stream's requests batch with each other and with other
// callers), up to the in-flight limits above, and writes the answers in
// request order, one write at a time. A request that fails (invalid, or its
// compute failed) ends the stream with its status once the answers before it
// are written; the work queued after it is cancelled.
//
// Threads: gRPC's reactions (OnReadDone, OnWriteDone, OnCancel, OnDone) and
// the schedulers' done callbacks (OnComputed) run concurrently; every state
// change happens under mu_, and gRPC operations are started after it is
// released (a done callback can run inside Scheduler::Submit). The reactor
// deletes itself once gRPC has called OnDone and every submitted request's
// done callback has run.
class EncodeStreamReactor
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  EncodeStreamReactor(grpc::CallbackServerContext* context,
                      const ModelRegistry* registry, ShutdownGate* gate)
      : context_(context),
        registry_(registry),
        gate_(gate),
        entry_(gate->EnterStream()) {
    if (!entry_.open()) {
      finished_ = true;
      Finish(ToGrpcStatus(ShuttingDownError()));
      return;
    }
    reading_ = true;
    StartRead(&request_bytes_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished writing (or went away)
      std::unique_lock<std::mutex> lock(mu_);
      reading_ = false;
      reads_done_ = true;
      Act(Advance(), std::move(lock));
      return;
    }
    ++messages_read_;
    auto answer = std::make_unique<Answer>();
    Answer* const a = answer.get();
    std::shared_ptr<EncodeWork> work;
    Scheduler* scheduler = nullptr;
    absl::Status refused = Prepare(a, &work, &scheduler);
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    answers_.push_back(std::move(answer));
    if (!refused.ok()) {
      a->status = std::move(refused);
      a->ready = true;
      reads_done_ = true;  // nothing after a failed request is read
    } else {
      a->work = work;
      a->scheduler = scheduler;
      in_flight_bytes_ += a->bytes;
      ++computing_;
      if (cancelled_ || finished_) work->MarkCancelled();
      lock.unlock();
      scheduler->Submit(std::move(work));  // may run OnComputed inline
      lock.lock();
    }
    Act(Advance(), std::move(lock));
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    in_flight_bytes_ -= answers_.front()->bytes;
    answers_.pop_front();
    if (!ok) {
      Act(FinishUnderLock(grpc::Status(grpc::StatusCode::CANCELLED,
                                       "the client stopped reading")),
          std::move(lock));
      return;
    }
    Act(Advance(), std::move(lock));
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    cancelled_ = true;
    Actions actions;
    actions.cancel = PendingWork();
    Act(std::move(actions), std::move(lock));
  }

  void OnDone() override {
    std::unique_lock<std::mutex> lock(mu_);
    grpc_done_ = true;
    const bool last = computing_ == 0;
    lock.unlock();
    if (last) delete this;
  }

 private:
  // One request's answer slot, in request order.
  struct Answer {
    v1::EncodeResponse response;
    absl::Status status;  // the outcome; not OK ends the stream here
    bool ready = false;   // status (and response, when OK) are final
    std::shared_ptr<EncodeWork> work;
    Scheduler* scheduler = nullptr;
    int64_t bytes = 0;  // estimated response size, counted while in flight
  };

  // What to do once mu_ is released.
  struct Actions {
    Answer* write = nullptr;
    bool read = false;
    std::optional<grpc::Status> finish;
    std::vector<std::pair<Scheduler*, std::shared_ptr<EncodeWork>>> cancel;
  };

  // Parses and checks the message just read and makes its work; on success
  // `a` is the answer slot its done callback fills.
  absl::Status Prepare(Answer* a, std::shared_ptr<EncodeWork>* work,
                       Scheduler** scheduler) {
    if (!grpc::SerializationTraits<v1::EncodeRequest>::Deserialize(
             &request_bytes_, &request_)
             .ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("EncodeStream message ", messages_read_,
                       " is not a valid EncodeRequest; string fields (texts, "
                       "model) must be valid UTF-8"));
    }
    // Draining: the answers so far are sent; this request and later ones are
    // refused, so that an open stream does not hold the shutdown open.
    if (gate_->closed()) return ShuttingDownError();
    ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model,
                     registry_->Lookup(request_.model()));
    *scheduler = (model)->scheduler;
    const bool token_embeddings = request_.return_token_embeddings();
    absl::StatusOr<std::shared_ptr<EncodeWork>> made = MakeEncodeWork(
        request_, model, CallDeadline(*context_), &a->response,
        [this, a](const absl::Status& status) { OnComputed(a, status); });
    if (!made.ok()) return made.status();
    a->bytes = EstimatedResponseBytes(**made, *model, token_embeddings);
    *work = *std::move(made);
    return absl::OkStatus();
  }

  void OnComputed(Answer* a, const absl::Status& status) {
    std::unique_lock<std::mutex> lock(mu_);
    a->status = status;
    a->ready = true;
    a->work.reset();  // its results are in the response now
    --computing_;
    if (grpc_done_) {  // finished and gone on gRPC's side: nothing to write
      const bool last = computing_ == 0;
      lock.unlock();
      if (last) delete this;
      return;
    }
    Act(Advance(), std::move(lock));
  }

  // The next steps, decided under mu_: write the head answer when it is
  // ready, end the stream at a failed one or after the last, read on while
  // under the in-flight limits.
  Actions Advance() {
    if (finished_) return {};
    if (!writing_ && !answers_.empty() && answers_.front()->ready) {
      Answer* head = answers_.front().get();
      if (!head->status.ok())
        return FinishUnderLock(ToGrpcStatus(head->status));
      writing_ = true;
      Actions actions;
      actions.write = head;
      actions.read = ShouldRead();
      return actions;
    }
    if (answers_.empty() && reads_done_ && !writing_) {
      return FinishUnderLock(grpc::Status::OK);
    }
    Actions actions;
    actions.read = ShouldRead();
    return actions;
  }

  bool ShouldRead() {
    if (reading_ || reads_done_ || finished_ || cancelled_ ||
        int(answers_.size()) >= kStreamMaxInFlightRequests ||
        in_flight_bytes_ >= kStreamMaxInFlightResponseBytes) {
      return false;
    }
    reading_ = true;
    return true;
  }

  Actions FinishUnderLock(grpc::Status status) {
    Actions actions;
    if (finished_) return actions;
    finished_ = true;
    actions.finish = std::move(status);
    actions.cancel = PendingWork();
    return actions;
  }

  // The requests still queued or computing (to cancel).
  std::vector<std::pair<Scheduler*, std::shared_ptr<EncodeWork>>>
  PendingWork() {
    std::vector<std::pair<Scheduler*, std::shared_ptr<EncodeWork>>> pending;
    for (const auto& a : answers_) {
      if (!a->ready && a->work != nullptr) {
        pending.emplace_back(a->scheduler, a->work);
      }
    }
    return pending;
  }

  // Runs `actions` after releasing `lock`.
  void Act(Actions actions, std::unique_lock<std::mutex> lock) {
    lock.unlock();
    for (auto& [scheduler, work] : actions.cancel) scheduler->Cancel(*work);
    if (actions.finish.has_value()) {
      Finish(*actions.finish);
      return;
    }
    if (actions.write != nullptr) {
      // Only this thread touches response_bytes_ until OnWriteDone.
      bool own_buffer = false;
      response_bytes_.Clear();  // the serializer needs it empty
      const grpc::Status serialized =
          grpc::SerializationTraits<v1::EncodeResponse>::Serialize(
              actions.write->response, &response_bytes_, &own_buffer);
      if (!serialized.ok()) {
        std::unique_lock<std::mutex> relock(mu_);
        writing_ = false;
        Act(FinishUnderLock(serialized), std::move(relock));
        return;
      }
      StartWrite(&response_bytes_);
    }
    if (actions.read) StartRead(&request_bytes_);
  }

  grpc::CallbackServerContext* const context_;
  const ModelRegistry* const registry_;
  ShutdownGate* const gate_;
  const ShutdownGate::Entry entry_;
  // Used by one read at a time (OnReadDone runs before the next StartRead).
  grpc::ByteBuffer request_bytes_;
  v1::EncodeRequest request_;
  int64_t messages_read_ = 0;
  grpc::ByteBuffer response_bytes_;  // the write in progress

  std::mutex mu_;
  std::deque<std::unique_ptr<Answer>> answers_;  // guarded by mu_
  int64_t in_flight_bytes_ = 0;                  // guarded by mu_
  int computing_ = 0;        // submitted, done callback not run; guarded by mu_
  bool reading_ = false;     // a read is outstanding; guarded by mu_
  bool writing_ = false;     // a write is outstanding; guarded by mu_
  bool reads_done_ = false;  // no more reads; guarded by mu_
  bool finished_ = false;    // Finish called; guarded by mu_
  bool cancelled_ = false;   // guarded by mu_
  bool grpc_done_ = false;   // OnDone ran; guarded by mu_
};

}  // namespace

EncoderServiceImpl::EncoderServiceImpl(const ModelRegistry* registry,
                                       ShutdownGate* gate)
    : registry_(registry), gate_(gate) {}

grpc::ServerUnaryReactor* EncoderServiceImpl::Encode(
    grpc::CallbackServerContext* context, const v1::EncodeRequest* request,
    v1::EncodeResponse* response) {
  auto* reactor = new ScheduledCallReactor(gate_);
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      registry_->Lookup(request->model());
  if (!model.ok()) {
    reactor->Finish(ToGrpcStatus(model.status()));
    return reactor;
  }
  Scheduler* scheduler = (*model)->scheduler;
  absl::StatusOr<std::shared_ptr<EncodeWork>> work =
      MakeEncodeWork(*request, *std::move(model), CallDeadline(*context),
                     response, [reactor](const absl::Status& status) {
                       reactor->Finish(ToGrpcStatus(status));
                     });
  if (!work.ok()) {
    reactor->Finish(ToGrpcStatus(work.status()));
    return reactor;
  }
  reactor->Submit(scheduler, *std::move(work));
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
EncoderServiceImpl::EncodeStream(grpc::CallbackServerContext* context) {
  return new EncodeStreamReactor(context, registry_, gate_);
}

grpc::ServerUnaryReactor* EncoderServiceImpl::Tokenize(
    grpc::CallbackServerContext* context, const v1::TokenizeRequest* request,
    v1::TokenizeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      registry_->Lookup(request->model());
  if (!model.ok()) {
    reactor->Finish(ToGrpcStatus(model.status()));
    return reactor;
  }
  const std::vector<absl::string_view> texts(request->texts().begin(),
                                             request->texts().end());
  absl::StatusOr<std::vector<Tokenization>> tokenizations =
      TokenizeTexts(**model, texts, request->add_special_tokens());
  if (!tokenizations.ok()) {
    reactor->Finish(ToGrpcStatus(tokenizations.status()));
    return reactor;
  }
  for (const Tokenization& tokenization : *tokenizations) {
    v1::Tokenization* out = response->add_results();
    for (const TokenPiece& token : tokenization) {
      v1::Token* t = out->add_tokens();
      t->set_id(token.id);
      t->set_text(token.text);
      t->set_start(token.start);
      t->set_end(token.end);
      t->set_special(token.special);
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* EncoderServiceImpl::ListModels(
    grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
    v1::ListModelsResponse* response) {
  for (const auto& served : registry_->models()) {
    const core::ModelInfo& model = served->info;
    v1::ModelInfo* info = response->add_models();
    info->set_name(served->name);
    info->set_architecture(model.architecture);
    info->set_hidden_size(static_cast<uint32_t>(model.hidden_size));
    info->set_num_layers(static_cast<uint32_t>(model.num_layers));
    info->set_num_heads(static_cast<uint32_t>(model.num_heads));
    info->set_max_length(static_cast<uint32_t>(model.max_length));
    info->set_vocab_size(static_cast<uint32_t>(model.vocab_size));
    info->set_default_pooling(PoolingToProto(model.default_pooling));
    for (const std::string& task : served->tasks) info->add_tasks(task);
    for (const std::string& label : served->labels) info->add_labels(label);
    for (const auto& [name, prompt] : served->prompts) {
      info->add_prompt_names(name);
    }
    info->set_tokenizer(std::string(served->tokenizer->model_type()));
  }
  response->set_default_model(registry_->default_name());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* EncoderServiceImpl::Rerank(
    grpc::CallbackServerContext* context, const v1::RerankRequest* request,
    v1::RerankResponse* response) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      registry_->Lookup(request->model());
  if (!model.ok()) return FinishedReactor(context, model.status());
  auto rerank = std::make_shared<RerankRequest>();
  rerank->query = request->query();
  rerank->texts.assign(request->texts().begin(), request->texts().end());
  rerank->truncate = request->truncate();
  rerank->raw_scores = request->raw_scores();
  rerank->top_n = request->top_n();
  absl::StatusOr<PreparedSequences> prepared =
      [&]() -> absl::StatusOr<PreparedSequences> {
    ASSIGN_OR_RETURN(
        rerank->compute_dtype,
        ComputeDTypeFromProto(request->compute_dtype(), "compute_dtype"));
    return PrepareRerank(*rerank, **model);
  }();
  return ScheduleSequences(
      context, gate_, **model, std::move(prepared), "texts",
      [rerank, model = *model, request, response](const EncodeWork& work) {
        ASSIGN_OR_RETURN(RerankResult result,
                         FinishRerank(*rerank, work, *model));
        response->set_model(model->name);
        response->set_total_tokens(result.total_tokens);
        for (const Rank& rank : result.ranks) {
          v1::Rank* out = response->add_ranks();
          out->set_index(rank.index);
          out->set_score(rank.score);
          if (request->return_text()) out->set_text(request->texts(rank.index));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EncoderServiceImpl::Classify(
    grpc::CallbackServerContext* context, const v1::ClassifyRequest* request,
    v1::ClassifyResponse* response) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      registry_->Lookup(request->model());
  if (!model.ok()) return FinishedReactor(context, model.status());
  auto classify = std::make_shared<ClassifyRequest>();
  classify->texts.assign(request->texts().begin(), request->texts().end());
  classify->text_pairs.assign(request->text_pairs().begin(),
                              request->text_pairs().end());
  classify->truncate = request->truncate();
  classify->raw_scores = request->raw_scores();
  absl::StatusOr<PreparedSequences> prepared =
      [&]() -> absl::StatusOr<PreparedSequences> {
    ASSIGN_OR_RETURN(
        classify->compute_dtype,
        ComputeDTypeFromProto(request->compute_dtype(), "compute_dtype"));
    return PrepareClassify(*classify, **model);
  }();
  return ScheduleSequences(
      context, gate_, **model, std::move(prepared), "texts",
      [classify, model = *model, response](const EncodeWork& work) {
        ASSIGN_OR_RETURN(ClassifyResult result,
                         FinishClassify(*classify, work, *model));
        response->set_model(model->name);
        response->set_total_tokens(result.total_tokens);
        for (const std::vector<LabelScore>& scores : result.results) {
          v1::Classification* out = response->add_results();
          for (const LabelScore& score : scores) {
            v1::LabelScore* s = out->add_scores();
            s->set_label(score.label);
            s->set_score(score.score);
          }
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EncoderServiceImpl::Detokenize(
    grpc::CallbackServerContext* context, const v1::DetokenizeRequest* request,
    v1::DetokenizeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      registry_->Lookup(request->model());
  if (!model.ok()) {
    reactor->Finish(ToGrpcStatus(model.status()));
    return reactor;
  }
  std::vector<absl::Span<const int32_t>> token_ids;
  token_ids.reserve(request->token_ids_size());
  for (const v1::TokenIds& ids : request->token_ids()) {
    token_ids.emplace_back(ids.ids().data(), ids.ids().size());
  }
  absl::StatusOr<std::vector<std::string>> texts =
      DetokenizeIds(**model, token_ids, request->skip_special_tokens());
  if (!texts.ok()) {
    reactor->Finish(ToGrpcStatus(texts.status()));
    return reactor;
  }
  for (std::string& text : *texts) response->add_texts(std::move(text));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace attnserve::server
