#include "server/api/kserve_v2/model_infer.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/infer/embed.h"

namespace attnserve::server::kserve_v2 {
namespace {

// "" (the model's default), "cls", "mean", "max" or "last".
absl::StatusOr<std::optional<core::Pooling>> PoolingFromName(
    absl::string_view name) {
  if (name.empty()) return std::optional<core::Pooling>();
  if (name == "cls") return core::Pooling::kCls;
  if (name == "mean") return core::Pooling::kMean;
  if (name == "max") return core::Pooling::kMax;
  if (name == "last") return core::Pooling::kLast;
  return absl::InvalidArgumentError(
      absl::StrCat("parameter pooling is \"", name,
                   "\", expected \"cls\", \"mean\", \"max\" or \"last\""));
}

// The parameter compute_dtype: "" or "FP32", or "BF16".
absl::Status GetComputeDType(InferParameters& parameters, core::DType* dtype) {
  absl::string_view name;
  RETURN_IF_ERROR(parameters.Get("compute_dtype", &name));
  if (name.empty() || name == "FP32") {
    *dtype = core::DType::kFP32;
  } else if (name == "BF16") {
    *dtype = core::DType::kBF16;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter compute_dtype is \"", name,
                     "\", expected \"FP32\" or \"BF16\""));
  }
  return absl::OkStatus();
}

std::vector<absl::string_view> Names(const std::vector<TensorSpec>& specs) {
  std::vector<absl::string_view> names;
  for (const TensorSpec& spec : specs) names.push_back(spec.name);
  return names;
}

// The request's inputs, parameters and outputs checked against `signature`:
// `read` asks for the parameters the model takes.
struct CheckedRequest {
  InferInputs inputs;
  InferOutputs outputs;
};
absl::StatusOr<CheckedRequest> Check(
    const inference::ModelInferRequest& request,
    const ModelSignature& signature, absl::string_view model,
    const std::function<absl::Status(InferParameters&)>& read) {
  ASSIGN_OR_RETURN(InferInputs inputs, InferInputs::Parse(request));
  RETURN_IF_ERROR(inputs.CheckNames(Names(signature.inputs), model));
  InferParameters parameters(request);
  RETURN_IF_ERROR(read(parameters));
  RETURN_IF_ERROR(parameters.CheckAllRead(model));
  const std::vector<absl::string_view> outputs = Names(signature.outputs);
  ASSIGN_OR_RETURN(InferOutputs wanted,
                   InferOutputs::Parse(request, outputs, outputs, model));
  return CheckedRequest{std::move(inputs), std::move(wanted)};
}

absl::StatusOr<PreparedModelInfer> PrepareEmbedInfer(
    const inference::ModelInferRequest& request,
    std::shared_ptr<const ServedModel> model) {
  EmbedRequest embed;
  embed.texts_field = "text";
  absl::string_view pooling;
  ASSIGN_OR_RETURN(
      CheckedRequest checked,
      Check(request, SignatureOf(*model), model->name,
            [&](InferParameters& p) -> absl::Status {
              RETURN_IF_ERROR(p.Get("pooling", &pooling));
              RETURN_IF_ERROR(p.Get("normalize", &embed.normalize));
              RETURN_IF_ERROR(p.Get("truncate", &embed.truncate));
              RETURN_IF_ERROR(p.Get("prompt_name", &embed.prompt_name));
              return GetComputeDType(p, &embed.compute_dtype);
            }));
  ASSIGN_OR_RETURN(embed.pooling, PoolingFromName(pooling));
  ASSIGN_OR_RETURN(embed.texts, checked.inputs.Bytes("text", false));
  ASSIGN_OR_RETURN(PreparedEncode prepared, PrepareEmbed(embed, *model));
  PreparedModelInfer out;
  out.sequences.token_ids = std::move(prepared.token_ids);
  out.sequences.options = prepared.options;
  auto shaping = std::make_shared<const PreparedEncode>(std::move(prepared));
  out.finish = [shaping, outputs = std::move(checked.outputs)](
                   const EncodeWork& work,
                   inference::ModelInferResponse* response) -> absl::Status {
    ASSIGN_OR_RETURN(EmbedResult result, FinishEmbed(*shaping, work));
    const int64_t n = static_cast<int64_t>(result.sequences.size());
    const int64_t hidden = result.sequences[0].pooled.num_elements();
    std::vector<float> embeddings;
    embeddings.reserve(n * hidden);
    for (const EmbedSequence& sequence : result.sequences) {
      const float* pooled = sequence.pooled.data<float>();
      embeddings.insert(embeddings.end(), pooled, pooled + hidden);
    }
    outputs.AddFp32("embedding", {n, hidden}, embeddings, response);
    return absl::OkStatus();
  };
  return out;
}

absl::StatusOr<PreparedModelInfer> PrepareRerankInfer(
    const inference::ModelInferRequest& request,
    std::shared_ptr<const ServedModel> model) {
  auto rerank = std::make_shared<RerankRequest>();
  rerank->texts_field = "text";
  ASSIGN_OR_RETURN(
      CheckedRequest checked,
      Check(request, SignatureOf(*model), model->name,
            [&](InferParameters& p) -> absl::Status {
              RETURN_IF_ERROR(p.Get("truncate", &rerank->truncate));
              RETURN_IF_ERROR(p.Get("raw_scores", &rerank->raw_scores));
              return GetComputeDType(p, &rerank->compute_dtype);
            }));
  ASSIGN_OR_RETURN(std::vector<absl::string_view> query,
                   checked.inputs.Bytes("query", true));
  rerank->query = query[0];
  ASSIGN_OR_RETURN(rerank->texts, checked.inputs.Bytes("text", false));
  PreparedModelInfer out;
  ASSIGN_OR_RETURN(out.sequences, PrepareRerank(*rerank, *model));
  out.finish = [rerank, model, outputs = std::move(checked.outputs)](
                   const EncodeWork& work,
                   inference::ModelInferResponse* response) -> absl::Status {
    ASSIGN_OR_RETURN(RerankResult result, FinishRerank(*rerank, work, *model));
    std::vector<float> scores(rerank->texts.size());
    for (const Rank& rank : result.ranks) scores[rank.index] = rank.score;
    outputs.AddFp32("score", {static_cast<int64_t>(scores.size())}, scores,
                    response);
    return absl::OkStatus();
  };
  return out;
}

absl::StatusOr<PreparedModelInfer> PrepareClassifyInfer(
    const inference::ModelInferRequest& request,
    std::shared_ptr<const ServedModel> model) {
  auto classify = std::make_shared<ClassifyRequest>();
  classify->texts_field = "text";
  classify->text_pairs_field = "text_pair";
  ASSIGN_OR_RETURN(
      CheckedRequest checked,
      Check(request, SignatureOf(*model), model->name,
            [&](InferParameters& p) -> absl::Status {
              RETURN_IF_ERROR(p.Get("truncate", &classify->truncate));
              RETURN_IF_ERROR(p.Get("raw_scores", &classify->raw_scores));
              return GetComputeDType(p, &classify->compute_dtype);
            }));
  ASSIGN_OR_RETURN(classify->texts, checked.inputs.Bytes("text", false));
  if (checked.inputs.Has("text_pair")) {
    ASSIGN_OR_RETURN(classify->text_pairs,
                     checked.inputs.Bytes("text_pair", false));
  }
  PreparedModelInfer out;
  ASSIGN_OR_RETURN(out.sequences, PrepareClassify(*classify, *model));
  out.finish = [classify, model, outputs = std::move(checked.outputs)](
                   const EncodeWork& work,
                   inference::ModelInferResponse* response) -> absl::Status {
    ASSIGN_OR_RETURN(ClassifyResult result,
                     FinishClassify(*classify, work, *model));
    const int64_t n = static_cast<int64_t>(result.results.size());
    const int64_t labels = static_cast<int64_t>(model->labels.size());
    std::vector<float> scores(n * labels);
    std::vector<std::string> best;
    for (int64_t i = 0; i < n; ++i) {
      for (const LabelScore& s : result.results[i]) {
        scores[i * labels + s.id] = s.score;
      }
      best.push_back(result.results[i].front().label);
    }
    outputs.AddFp32("scores", {n, labels}, scores, response);
    outputs.AddBytes("label", {n}, best, response);
    return absl::OkStatus();
  };
  return out;
}

// [B, 1, S, D] -> [B, S, D] for a request of rank-3 tensors.
std::vector<int64_t> ResponseShape(const core::Tensor& t, bool single_head) {
  if (single_head) return {t.dim(0), t.dim(2), t.dim(3)};
  return {t.shape().begin(), t.shape().end()};
}

}  // namespace

ModelSignature SignatureOf(const ServedModel& model) {
  const int64_t hidden = model.info.hidden_size;
  if (std::find(model.tasks.begin(), model.tasks.end(), "rerank") !=
      model.tasks.end()) {
    return {{{"query", "BYTES", {1}}, {"text", "BYTES", {-1}}},
            {{"score", "FP32", {-1}}}};
  }
  if (std::find(model.tasks.begin(), model.tasks.end(), "classify") !=
      model.tasks.end()) {
    return {
        {{"text", "BYTES", {-1}}, {"text_pair", "BYTES", {-1}}},
        {{"scores", "FP32", {-1, static_cast<int64_t>(model.labels.size())}},
         {"label", "BYTES", {-1}}}};
  }
  return {{{"text", "BYTES", {-1}}}, {{"embedding", "FP32", {-1, hidden}}}};
}

ModelSignature AttentionSignature() {
  const std::vector<int64_t> any4 = {-1, -1, -1, -1};
  return {{{"query", "FP32", any4},
           {"key", "FP32", any4},
           {"value", "FP32", any4},
           {"mask", "FP32", any4},
           {"key_lengths", "INT32", {-1}}},
          {{"output", "FP32", any4}, {"weights", "FP32", any4}}};
}

absl::StatusOr<PreparedModelInfer> PrepareModelInfer(
    const inference::ModelInferRequest& request,
    std::shared_ptr<const ServedModel> model) {
  const std::vector<std::string>& tasks = model->tasks;
  if (std::find(tasks.begin(), tasks.end(), "rerank") != tasks.end()) {
    return PrepareRerankInfer(request, std::move(model));
  }
  if (std::find(tasks.begin(), tasks.end(), "classify") != tasks.end()) {
    return PrepareClassifyInfer(request, std::move(model));
  }
  return PrepareEmbedInfer(request, std::move(model));
}

absl::StatusOr<PreparedAttend> PrepareAttend(
    const inference::ModelInferRequest& request,
    const ConversionLimits& limits) {
  v1::AttendRequest attend;
  v1::AttentionSpec& spec = *attend.mutable_spec();
  absl::string_view weighting, scope, compute_dtype;
  bool return_weights = false;
  ASSIGN_OR_RETURN(InferInputs inputs, InferInputs::Parse(request));
  const ModelSignature signature = AttentionSignature();
  RETURN_IF_ERROR(inputs.CheckNames(Names(signature.inputs), kAttentionModel));
  InferParameters p(request);
  RETURN_IF_ERROR(p.Get("weighting", &weighting));
  RETURN_IF_ERROR(p.Get("scope", &scope));
  uint32_t top_k = 0, window_left = 0, window_right = 0;
  uint64_t seed = 0;
  bool sample = false, causal = false;
  float gaussian_sigma = 0, scale = 0;
  std::vector<uint32_t> global_positions;
  RETURN_IF_ERROR(p.Get("top_k", &top_k));
  RETURN_IF_ERROR(p.Get("sample", &sample));
  RETURN_IF_ERROR(p.Get("seed", &seed));
  RETURN_IF_ERROR(p.Get("window_left", &window_left));
  RETURN_IF_ERROR(p.Get("window_right", &window_right));
  RETURN_IF_ERROR(p.Get("global_positions", &global_positions));
  RETURN_IF_ERROR(p.Get("gaussian_sigma", &gaussian_sigma));
  RETURN_IF_ERROR(p.Get("causal", &causal));
  RETURN_IF_ERROR(p.Get("scale", &scale));
  RETURN_IF_ERROR(p.Get("return_weights", &return_weights));
  RETURN_IF_ERROR(p.Get("compute_dtype", &compute_dtype));
  RETURN_IF_ERROR(p.CheckAllRead(kAttentionModel));

  if (weighting.empty() || weighting == "SOFT") {
    spec.set_weighting(v1::AttentionSpec::SOFT);
  } else if (weighting == "HARD") {
    spec.set_weighting(v1::AttentionSpec::HARD);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter weighting is \"", weighting,
                     "\", expected \"SOFT\" or \"HARD\""));
  }
  if (scope.empty() || scope == "GLOBAL") {
    spec.set_scope(v1::AttentionSpec::GLOBAL);
  } else if (scope == "LOCAL") {
    spec.set_scope(v1::AttentionSpec::LOCAL);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter scope is \"", scope,
                     "\", expected \"GLOBAL\" or \"LOCAL\""));
  }
  spec.set_top_k(top_k);
  spec.set_sample(sample);
  spec.set_seed(seed);
  spec.set_window_left(window_left);
  spec.set_window_right(window_right);
  spec.mutable_global_positions()->Add(global_positions.begin(),
                                       global_positions.end());
  spec.set_gaussian_sigma(gaussian_sigma);
  spec.set_causal(causal);
  spec.set_scale(scale);
  if (compute_dtype == "BF16") {
    attend.set_compute_dtype(v1::BF16);
  } else if (!compute_dtype.empty() && compute_dtype != "FP32") {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter compute_dtype is \"", compute_dtype,
                     "\", expected \"FP32\" or \"BF16\""));
  }

  const std::vector<absl::string_view> outputs = Names(signature.outputs);
  const std::vector<absl::string_view> defaults =
      return_weights ? outputs : std::vector<absl::string_view>{"output"};
  ASSIGN_OR_RETURN(
      InferOutputs wanted,
      InferOutputs::Parse(request, outputs, defaults, kAttentionModel));
  attend.set_return_weights(wanted.Wants("weights"));

  RETURN_IF_ERROR(inputs.Tensor("query", attend.mutable_query()));
  if (inputs.Has("key")) {
    RETURN_IF_ERROR(inputs.Tensor("key", attend.mutable_key()));
  }
  if (inputs.Has("value")) {
    RETURN_IF_ERROR(inputs.Tensor("value", attend.mutable_value()));
  }
  if (inputs.Has("mask")) {
    RETURN_IF_ERROR(inputs.Tensor("mask", attend.mutable_mask()));
  }
  if (inputs.Has("key_lengths")) {
    ASSIGN_OR_RETURN(std::vector<uint32_t> lengths,
                     inputs.Lengths("key_lengths"));
    attend.mutable_key_lengths()->Add(lengths.begin(), lengths.end());
  }
  ASSIGN_OR_RETURN(AttendCall call, AttendCallFromProto(attend, limits));
  return PreparedAttend{std::move(call), std::move(wanted)};
}

void FillAttendOutputs(const PreparedAttend& prepared,
                       const core::AttentionOutputs& computed,
                       inference::ModelInferResponse* response) {
  const bool single_head = prepared.call.single_head;
  // FP32: the request leaves AttendRequest.output_dtype unset.
  const core::Tensor& output = computed.output;
  prepared.outputs.AddFp32(
      "output", ResponseShape(output, single_head),
      absl::MakeConstSpan(output.data<float>(), output.num_elements()),
      response);
  if (!computed.weights.empty()) {
    prepared.outputs.AddFp32(
        "weights", ResponseShape(computed.weights, single_head),
        absl::MakeConstSpan(computed.weights.data<float>(),
                            computed.weights.num_elements()),
        response);
  }
}

}  // namespace attnserve::server::kserve_v2
