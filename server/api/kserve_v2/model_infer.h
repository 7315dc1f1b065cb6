#ifndef ATTNSERVE_SERVER_API_KSERVE_V2_MODEL_INFER_H_
#define ATTNSERVE_SERVER_API_KSERVE_V2_MODEL_INFER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kserve/v2/grpc_predict_v2.pb.h"
#include "server/api/kserve_v2/infer_tensors.h"
#include "server/api/v1/proto_convert.h"
#include "server/infer/attention_work.h"
#include "server/infer/classify.h"
#include "server/infer/encode_work.h"
#include "server/runtime/model_registry.h"

// The v2 models attnserve serves (README.md, "The Open Inference Protocol"):
// each loaded model by its task, and the attention operator as model
// `attention`. Requests become the protocol-neutral requests of server/infer/
// (checked and tokenized there, as for attnserve.v1), results become outputs.
namespace attnserve::server::kserve_v2 {

inline constexpr absl::string_view kAttentionModel = "attention";
// Every model has this one version.
inline constexpr absl::string_view kModelVersion = "1";

// A model's inputs and outputs as ModelMetadata gives them (-1: any size).
struct TensorSpec {
  absl::string_view name;
  absl::string_view datatype;
  std::vector<int64_t> shape;
};
struct ModelSignature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};
// By the model's task: embed, rerank or classify.
ModelSignature SignatureOf(const ServedModel& model);
ModelSignature AttentionSignature();

// A ModelInferRequest for a loaded model, checked and tokenized: the
// sequences to queue on the model's scheduler, and how to fill the response
// from their computed states.
//   embed:    text BYTES [n] -> embedding FP32 [n, hidden]; parameters
//             pooling ("cls", "mean", "max", "last"), normalize, truncate,
//             prompt_name, compute_dtype ("FP32", "BF16")
//   rerank:   query BYTES [1], text BYTES [n] -> score FP32 [n] (text order);
//             parameters truncate, raw_scores, compute_dtype
//   classify: text BYTES [n], optional text_pair BYTES [n] ->
//             scores FP32 [n, labels] (label order), label BYTES [n] (the
//             highest); parameters truncate, raw_scores, compute_dtype
struct PreparedModelInfer {
  PreparedSequences sequences;
  std::function<absl::Status(const EncodeWork&, inference::ModelInferResponse*)>
      finish;
};
absl::StatusOr<PreparedModelInfer> PrepareModelInfer(
    const inference::ModelInferRequest& request,
    std::shared_ptr<const ServedModel> model);

// A ModelInferRequest for model `attention`:
//   query, key, value FP32 [batch, heads, len, dim] or [batch, len, dim]
//   (key unset: query; value unset: key), optional mask FP32 and key_lengths
//   INT32 [batch]; parameters: the AttentionSpec fields (weighting "SOFT" /
//   "HARD", scope "GLOBAL" / "LOCAL", top_k, sample, seed, window_left,
//   window_right, global_positions "0,5", gaussian_sigma, causal, scale),
//   return_weights, compute_dtype
//   -> output FP32, and weights FP32 when asked for (by return_weights or by
//   naming it in `outputs`).
// Checked as attnserve.v1 Attend checks its request.
struct PreparedAttend {
  AttendCall call;
  InferOutputs outputs;
};
absl::StatusOr<PreparedAttend> PrepareAttend(
    const inference::ModelInferRequest& request,
    const ConversionLimits& limits);
void FillAttendOutputs(const PreparedAttend& prepared,
                       const core::AttentionOutputs& computed,
                       inference::ModelInferResponse* response);

}  // namespace attnserve::server::kserve_v2

#endif  // ATTNSERVE_SERVER_API_KSERVE_V2_MODEL_INFER_H_
