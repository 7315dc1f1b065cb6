#ifndef ATTNSERVE_CORE_MODEL_HEADS_CLASSIFIER_HEAD_H_
#define ATTNSERVE_CORE_MODEL_HEADS_CLASSIFIER_HEAD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/tensor.h"

namespace attnserve::core {

// The sequence-classification heads of Hugging Face's
// *ForSequenceClassification models, over the encoder's last hidden states
// (dropout is the identity at inference):
//   kBert:       classifier(tanh(pooler.dense(h[0])))      (BertPooler)
//   kRoberta:    out_proj(tanh(dense(h[0])))  (RoBERTa, XLM-R, CamemBERT,
//                MPNet: *ClassificationHead)
//   kModernBert: classifier(norm(act(dense(pool(h)))))     (pool:
//   classifier_pooling
//                "cls" = h[0] or "mean" over the tokens;
//                ModernBertPredictionHead)
enum class ClassifierKind { kBert, kRoberta, kModernBert };

// What config.json says about the head.
struct ClassifierConfig {
  ClassifierKind kind = ClassifierKind::kBert;
  // id2label in id order; HF's default is LABEL_0, LABEL_1 when absent.
  std::vector<std::string> labels;
  // problem_type "multi_label_classification": independent sigmoids.
  bool multi_label = false;
  // ModernBERT only.
  bool mean_pooling = false;  // classifier_pooling "mean" (else "cls")
  std::string activation;     // classifier_activation
  bool dense_bias = false;    // classifier_bias
  bool norm_bias = false;     // norm_bias
  double norm_eps = 1e-5;     // norm_eps
};

// Parses the head's keys of a *ForSequenceClassification config.json
// (model_type picks the kind). Errors start with "config.json: ". Pure.
absl::StatusOr<ClassifierConfig> ParseClassifierConfig(
    absl::string_view config_json);

// A loaded head: immutable, safe to share between threads.
class ClassifierHead {
 public:
  // Reads the head's tensors from `dir`model.safetensors (names as HF stores
  // them, e.g. "bert.pooler.dense.weight", "classifier.weight"), checked
  // against `hidden_size` and the number of labels. Errors name the tensor,
  // or `dir`config.json and the key.
  static absl::StatusOr<std::unique_ptr<const ClassifierHead>> Load(
      const std::string& dir, absl::string_view config_json,
      int64_t hidden_size);

  //   hidden: [len, hidden_size] FP32, one sequence's last hidden states
  //   returns [num_labels] logits
  std::vector<float> Logits(const Tensor& hidden) const;

  const ClassifierConfig& config() const { return config_; }
  int64_t num_labels() const { return int64_t(config_.labels.size()); }

 private:
  ClassifierHead() = default;

  ClassifierConfig config_;
  int64_t hidden_size_ = 0;
  // FP32, row-major [out, in] as torch's nn.Linear stores them.
  Tensor dense_weight_;  // [hidden, hidden]: BERT pooler / RoBERTa dense /
                         // ModernBERT head.dense
  Tensor dense_bias_;  // [hidden] or empty (ModernBERT without classifier_bias)
  Tensor norm_weight_;  // [hidden] ModernBERT head.norm
  Tensor norm_bias_;    // [hidden] or empty
  Tensor out_weight_;   // [labels, hidden]
  Tensor out_bias_;     // [labels]
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_HEADS_CLASSIFIER_HEAD_H_
