// Fuzzes the server's request conversion: the input's first byte picks the
// request type, the rest is parsed as that protobuf message.
//   0: AttendRequest -> AttendCallFromProto -> core::ValidateAttention, and
//      when valid and small, core::Attend (output shape and finiteness checked)
//   1: MultiHeadAttendRequest -> MultiHeadInputsFromProto, and when small,
//      core::MultiHeadAttend on the demo model
//   2: EncodeRequest -> PrepareEncode with the demo model and its tokenizer
//   3: RerankRequest -> PrepareRerank with the golden BERT cross-encoder
//   4: ClassifyRequest -> PrepareClassify with the golden XLM-R NLI model
//   5: DetokenizeRequest -> DetokenizeIds with the golden XLM-R tokenizer
// Seeds: corpus/proto_request/, made by tests/fuzz/make_corpus.sh.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/attention/attention.h"
#include "core/attention/validate_attention.h"
#include "core/model/encoder_model.h"
#include "google/protobuf/stubs/logging.h"
#include "server/api/v1/encode_request.h"
#include "server/api/v1/proto_convert.h"
#include "server/infer/classify.h"
#include "server/infer/detokenize.h"
#include "server/runtime/model_registry.h"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

// Attention work small enough to run on every fuzz input.
constexpr int64_t kMaxRunElements = 1 << 14;

// The built-in demo model, loaded the way `--model demo` loads it.
const server::ServedModel& DemoServedModel() {
  static const server::ServedModel* const model = [] {
    absl::StatusOr<std::shared_ptr<server::ServedModel>> served =
        server::LoadServedModel(server::ModelSpec{"demo", ""});
    FUZZ_CHECK(served.ok());
    return new server::ServedModel(**served);
  }();
  return *model;
}

// A golden model directory of tests/golden/tasks/ (gen_tasks.py).
const server::ServedModel& TaskModel(const char* name) {
  // Never destroyed, so the models stay reachable (LeakSanitizer at exit).
  static auto* const models =
      new absl::flat_hash_map<std::string, const server::ServedModel*>();
  auto it = models->find(name);
  if (it != models->end()) return *it->second;
  absl::StatusOr<std::shared_ptr<server::ServedModel>> served =
      server::LoadServedModel(server::ModelSpec{
          name,
          std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/tasks/" + name});
  FUZZ_CHECK(served.ok());
  return *((*models)[name] = new server::ServedModel(**served));
}

// Fuzz inputs are small: limits of a 1 MiB message keep allocations bounded.
const server::ConversionLimits& Limits() {
  static const server::ConversionLimits limits =
      server::LimitsForMaxMessageBytes(1 << 20);
  return limits;
}

bool AllFinite(const core::Tensor& tensor) {
  for (int64_t i = 0; i < tensor.num_elements(); ++i) {
    if (!std::isfinite(tensor.GetFloat(i))) return false;
  }
  return true;
}

void FuzzAttend(absl::string_view bytes) {
  v1::AttendRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return;
  }
  absl::StatusOr<server::AttendCall> call =
      server::AttendCallFromProto(request, Limits());
  if (!call.ok()) {
    FUZZ_CHECK(!call.status().message().empty());
    return;
  }
  const core::AttentionInputs& in = call->inputs;
  absl::Status valid = core::ValidateAttention(call->spec, in);
  if (!valid.ok()) {
    FUZZ_CHECK(!valid.message().empty());
    return;
  }
  const int64_t scores =
      in.query.dim(0) * in.query.dim(1) * in.query.dim(2) * in.key.dim(2);
  if (scores > kMaxRunElements || in.query.num_elements() > kMaxRunElements ||
      in.key.num_elements() > kMaxRunElements ||
      in.value.num_elements() > kMaxRunElements) {
    return;
  }
  core::AttentionOutputs out;
  absl::Status status = core::Attend(call->spec, in, &out);
  FUZZ_CHECK(status.ok());
  FUZZ_CHECK(out.output.rank() == 4);
  FUZZ_CHECK(out.output.dim(0) == in.query.dim(0));
  FUZZ_CHECK(out.output.dim(2) == in.query.dim(2));
  FUZZ_CHECK(out.output.dim(3) == in.value.dim(3));
  FUZZ_CHECK(out.weights.empty() != in.return_weights);
  FUZZ_CHECK(AllFinite(out.weights));
  // Validated inputs are finite, but big finite values can still overflow
  // in q.k or in the weighted sum of values; weights never can.
  v1::AttendResponse response;
  server::AttendResponseFromOutputs(out, call->single_head, &response);
  FUZZ_CHECK(response.output().shape_size() == request.query().shape_size());
}

void FuzzMultiHeadAttend(absl::string_view bytes) {
  v1::MultiHeadAttendRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return;
  }
  absl::StatusOr<core::MultiHeadAttendInputs> inputs =
      server::MultiHeadInputsFromProto(request, Limits());
  if (!inputs.ok()) {
    FUZZ_CHECK(!inputs.status().message().empty());
    return;
  }
  const int64_t hidden_size = DemoServedModel().info.hidden_size;
  const int64_t context_elements = inputs->context.empty()
                                       ? inputs->hidden.num_elements()
                                       : inputs->context.num_elements();
  if (inputs->hidden.num_elements() > 16 * hidden_size ||
      context_elements > 16 * hidden_size) {
    return;
  }
  absl::StatusOr<core::AttentionOutputs> out =
      DemoServedModel().encoder->MultiHeadAttend(*inputs);
  if (!out.ok()) {
    FUZZ_CHECK(!out.status().message().empty());
    return;
  }
  FUZZ_CHECK(out->output.rank() == 3);
  FUZZ_CHECK(out->output.dim(2) == hidden_size);
  FUZZ_CHECK(AllFinite(out->weights));
}

void FuzzEncode(absl::string_view bytes) {
  v1::EncodeRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return;
  }
  const server::ServedModel& model = DemoServedModel();
  absl::StatusOr<server::PreparedEncode> prepared =
      server::PrepareEncode(request, model);
  if (!prepared.ok()) {
    FUZZ_CHECK(!prepared.status().message().empty());
    return;
  }
  const int64_t vocab_size = model.info.vocab_size;
  for (const std::vector<int32_t>& ids : prepared->token_ids) {
    FUZZ_CHECK(!ids.empty());
    FUZZ_CHECK(static_cast<int64_t>(ids.size()) <= model.info.max_length);
    for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < vocab_size);
  }
}

// Checks prepared sequences against the model's limits.
void CheckSequences(const server::PreparedSequences& prepared,
                    const server::ServedModel& model) {
  FUZZ_CHECK(prepared.token_type_ids.empty() ||
             prepared.token_type_ids.size() == prepared.token_ids.size());
  for (size_t s = 0; s < prepared.token_ids.size(); ++s) {
    const std::vector<int32_t>& ids = prepared.token_ids[s];
    FUZZ_CHECK(!ids.empty());
    FUZZ_CHECK(static_cast<int64_t>(ids.size()) <= model.info.max_length);
    for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < model.info.vocab_size);
    if (!prepared.token_type_ids.empty()) {
      FUZZ_CHECK(prepared.token_type_ids[s].size() == ids.size());
    }
  }
}

void FuzzRerank(absl::string_view bytes) {
  v1::RerankRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return;
  }
  const server::ServedModel& model = TaskModel("bert_rerank");
  server::RerankRequest rerank;
  rerank.query = request.query();
  rerank.texts.assign(request.texts().begin(), request.texts().end());
  rerank.truncate = request.truncate();
  absl::StatusOr<server::PreparedSequences> prepared =
      server::PrepareRerank(rerank, model);
  if (!prepared.ok()) {
    FUZZ_CHECK(!prepared.status().message().empty());
    return;
  }
  FUZZ_CHECK(prepared->token_ids.size() == rerank.texts.size());
  CheckSequences(*prepared, model);
}

void FuzzClassify(absl::string_view bytes) {
  v1::ClassifyRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return;
  }
  const server::ServedModel& model = TaskModel("xlmr_nli");
  server::ClassifyRequest classify;
  classify.texts.assign(request.texts().begin(), request.texts().end());
  classify.text_pairs.assign(request.text_pairs().begin(),
                             request.text_pairs().end());
  classify.truncate = request.truncate();
  absl::StatusOr<server::PreparedSequences> prepared =
      server::PrepareClassify(classify, model);
  if (!prepared.ok()) {
    FUZZ_CHECK(!prepared.status().message().empty());
    return;
  }
  FUZZ_CHECK(prepared->token_ids.size() == classify.texts.size());
  CheckSequences(*prepared, model);
}

void FuzzDetokenize(absl::string_view bytes) {
  v1::DetokenizeRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return;
  }
  std::vector<absl::Span<const int32_t>> ids;
  for (const v1::TokenIds& t : request.token_ids()) {
    ids.emplace_back(t.ids().data(), t.ids().size());
  }
  absl::StatusOr<std::vector<std::string>> texts = server::DetokenizeIds(
      TaskModel("xlmr_nli"), ids, request.skip_special_tokens());
  if (!texts.ok()) {
    FUZZ_CHECK(!texts.status().message().empty());
    return;
  }
  FUZZ_CHECK(texts->size() == ids.size());
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Parse failures (e.g. invalid UTF-8 in a string field) are expected: keep
  // protobuf from logging each one.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  absl::string_view message(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      attnserve::fuzz::FuzzAttend(message);
      break;
    case 1:
      attnserve::fuzz::FuzzMultiHeadAttend(message);
      break;
    case 2:
      attnserve::fuzz::FuzzEncode(message);
      break;
    case 3:
      attnserve::fuzz::FuzzRerank(message);
      break;
    case 4:
      attnserve::fuzz::FuzzClassify(message);
      break;
    default:
      attnserve::fuzz::FuzzDetokenize(message);
      break;
  }
  return 0;
}
