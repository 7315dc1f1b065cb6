#include "server/encoder_service.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/call_reactor.h"
#include "server/encode_request.h"
#include "server/encode_work.h"

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
  absl::StatusOr<PreparedEncode> prepared = PrepareEncode(request, *model);
  if (!prepared.ok()) return prepared.status();
  auto work = std::make_shared<EncodeWork>(std::move(prepared->token_ids),
                                           prepared->options, deadline);
  auto shaping = std::make_shared<const PreparedEncode>(*std::move(prepared));
  work->set_done([work, shaping, model, response,
                  done = std::move(done)](absl::Status status) {
    if (status.ok()) {
      status = FillEncodeResponse(*shaping, *work, *model, response);
    }
    done(status);
  });
  return work;
}

// Reads EncodeRequest messages as bytes and writes EncodeResponse bytes (see
// EncoderServiceImpl::EncodeStream).
class EncodeStreamReactor
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  EncodeStreamReactor(grpc::CallbackServerContext* context,
                      const ModelRegistry* registry, ShutdownGate* gate)
      : context_(context),
        registry_(registry),
        gate_(gate),
        entry_(gate->Enter()) {
    if (!entry_.open()) {
      Finish(ToGrpcStatus(ShuttingDownError()));
      return;
    }
    StartRead(&request_bytes_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished writing (or went away)
      Finish(grpc::Status::OK);
      return;
    }
    ++messages_read_;
    if (!grpc::SerializationTraits<v1::EncodeRequest>::Deserialize(
             &request_bytes_, &request_)
             .ok()) {
      Finish(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("EncodeStream message ", messages_read_,
                       " is not a valid EncodeRequest; string fields (texts, "
                       "model) must be valid UTF-8")));
      return;
    }
    // Draining: the answers so far were sent; this request and later ones are
    // refused, so that an open stream does not hold the shutdown open.
    if (gate_->closed()) {
      Finish(ToGrpcStatus(ShuttingDownError()));
      return;
    }
    absl::StatusOr<std::shared_ptr<const ServedModel>> model =
        registry_->Lookup(request_.model());
    if (!model.ok()) {
      Finish(ToGrpcStatus(model.status()));
      return;
    }
    response_.Clear();
    Scheduler* scheduler = (*model)->scheduler;
    absl::StatusOr<std::shared_ptr<EncodeWork>> work =
        MakeEncodeWork(request_, *std::move(model), CallDeadline(*context_),
                       &response_, [this](const absl::Status& status) {
                         if (status.ok())
                           WriteResponse();
                         else
                           Finish(ToGrpcStatus(status));
                       });
    if (!work.ok()) {
      Finish(ToGrpcStatus(work.status()));
      return;
    }
    submission_.Submit(scheduler, *std::move(work));
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          "the client stopped reading"));
      return;
    }
    StartRead(&request_bytes_);
  }

  void OnCancel() override { submission_.Cancel(); }

  void OnDone() override { delete this; }

 private:
  void WriteResponse() {
    bool own_buffer = false;
    response_bytes_.Clear();  // the serializer needs it empty
    const grpc::Status serialized =
        grpc::SerializationTraits<v1::EncodeResponse>::Serialize(
            response_, &response_bytes_, &own_buffer);
    if (!serialized.ok()) {
      Finish(serialized);
      return;
    }
    StartWrite(&response_bytes_);
  }

  grpc::CallbackServerContext* const context_;
  const ModelRegistry* const registry_;
  ShutdownGate* const gate_;
  const ShutdownGate::Entry entry_;
  grpc::ByteBuffer request_bytes_;
  grpc::ByteBuffer response_bytes_;
  int64_t messages_read_ = 0;
  v1::EncodeRequest request_;
  v1::EncodeResponse response_;
  CancellableSubmission submission_;  // the latest request's work
};

}  // namespace

EncoderServiceImpl::EncoderServiceImpl(const ModelRegistry* registry,
                                       ShutdownGate* gate)
    : registry_(registry), gate_(gate) {}

grpc::ServerUnaryReactor* EncoderServiceImpl::Encode(
    grpc::CallbackServerContext* context, const v1::EncodeRequest* request,
    v1::EncodeResponse* response) {
  auto* reactor = new ScheduledCallReactor(gate_);
  if (!reactor->admitted()) return reactor;
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
  if (request->texts_size() == 0) {
    reactor->Finish(ToGrpcStatus(
        absl::InvalidArgumentError("texts is empty, expected texts")));
    return reactor;
  }
  core::tokenizers::EncodeOptions options;
  options.add_special_tokens = request->add_special_tokens();
  const core::tokenizers::Tokenizer& tokenizer = *(*model)->tokenizer;
  for (int i = 0; i < request->texts_size(); ++i) {
    absl::StatusOr<core::tokenizers::Encoding> tokens =
        tokenizer.Encode(request->texts(i), options);
    if (!tokens.ok()) {
      reactor->Finish(ToGrpcStatus(absl::Status(
          tokens.status().code(),
          absl::StrCat("texts[", i, "]: ", tokens.status().message()))));
      return reactor;
    }
    v1::Tokenization* out = response->add_results();
    for (size_t k = 0; k < tokens->size(); ++k) {
      const int32_t id = tokens->ids[k];
      v1::Token* t = out->add_tokens();
      t->set_id(id);
      // The piece as the vocabulary spells it (an added token matched with
      // lstrip/rstrip keeps its own spelling, not the text around it).
      t->set_text(std::string(tokenizer.IdToToken(id).value_or("")));
      t->set_start(tokens->offsets[k].start);
      t->set_end(tokens->offsets[k].end);
      // Post-processor tokens and special added tokens found in the text.
      t->set_special(tokens->special_tokens_mask[k] != 0 ||
                     tokenizer.IsSpecialId(id));
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* EncoderServiceImpl::ListModels(
    grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
    v1::ListModelsResponse* response) {
  for (const auto& served : registry_->models()) {
    const core::BertConfig& config = served->model->config;
    v1::ModelInfo* info = response->add_models();
    info->set_name(served->name);
    info->set_architecture(served->architecture);
    info->set_hidden_size(static_cast<uint32_t>(config.hidden_size));
    info->set_num_layers(static_cast<uint32_t>(config.num_layers));
    info->set_num_heads(static_cast<uint32_t>(config.num_heads));
    info->set_max_length(static_cast<uint32_t>(served->max_length));
    info->set_vocab_size(static_cast<uint32_t>(config.vocab_size));
    info->set_default_pooling(PoolingToProto(served->model->default_pooling));
  }
  response->set_default_model(registry_->default_name());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace attnserve::server
