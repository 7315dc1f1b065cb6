#ifndef ATTNSERVE_SERVER_RUNTIME_MODEL_REGISTRY_H_
#define ATTNSERVE_SERVER_RUNTIME_MODEL_REGISTRY_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/model/encoder_model.h"
#include "core/model/heads/classifier_head.h"
#include "core/model/heads/masked_lm_head.h"
#include "core/tokenizer/tokenizer.h"
#include "prometheus/counter.h"
#include "server/scheduling/scheduler.h"

namespace attnserve::server {

// The tokenizer type the server holds: the one seam to change when the
// tokenizer does. Only server/infer/ calls it (Encode).
using ServedTokenizer = core::tokenizers::Tokenizer;

// A model the server serves: the encoder (any architecture), its tokenizer,
// what ListModels and the metrics say about it, and its scheduler.
struct ServedModel {
  std::string name;
  std::string directory;  // "" for the built-in demo model
  std::shared_ptr<const core::EncoderModel> encoder;
  std::shared_ptr<const ServedTokenizer> tokenizer;
  // *ForSequenceClassification models: the head over the encoder's output.
  std::shared_ptr<const core::ClassifierHead> classifier;
  // *ForMaskedLM models of the BERT family with the whole head: SPLADE.
  std::shared_ptr<const core::MaskedLmHead> masked_lm;
  // The encoder's info, except max_length: the longest sequence accepted,
  // special tokens included, is the encoder's or the tokenizer's
  // model_max_length when that is smaller.
  core::ModelInfo info;
  // What it serves, of "embed", "sparse", "rerank", "classify" (CONTRACT.md
  // §9), and its class labels in id order (classifiers).
  std::vector<std::string> tasks;
  std::vector<std::string> labels;
  // config_sentence_transformers.json's prompts (name, prompt) in the file's
  // order, and the one sentence-transformers applies when a call names none
  // ("" when unset).
  std::vector<std::pair<std::string, std::string>> prompts;
  std::string default_prompt_name;
  // The model's dynamic batching scheduler (set by the server before serving).
  Scheduler* scheduler = nullptr;
  // Where the CPU time spent tokenizing is added, in seconds (set by the
  // server before serving; null: not counted).
  prometheus::Counter* tokenize_cpu_seconds = nullptr;
};

// Parses a --model value: "NAME=DIR", or "demo" (the built-in demo model,
// named "demo"). Errors name the flag.
struct ModelSpec {
  std::string name;
  std::string directory;  // empty for demo
};
absl::StatusOr<ModelSpec> ParseModelSpec(absl::string_view flag_value);

// Loads one model: the directory's config.json, model.safetensors and
// tokenizer files (or the demo model). Errors name the model and the file.
absl::StatusOr<std::shared_ptr<ServedModel>> LoadServedModel(
    const ModelSpec& spec);

// The models named by --model, the first being the default.
class ModelRegistry {
 public:
  explicit ModelRegistry(std::vector<std::shared_ptr<const ServedModel>> models)
      : models_(std::move(models)) {}

  // `name` empty -> the default model.
  // The model, or NOT_FOUND naming `name` and the served models.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Lookup(
      absl::string_view name) const;
  const std::vector<std::shared_ptr<const ServedModel>>& models() const {
    return models_;
  }
  std::string default_name() const {
    return models_.empty() ? "" : models_[0]->name;
  }

 private:
  std::vector<std::shared_ptr<const ServedModel>> models_;
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_RUNTIME_MODEL_REGISTRY_H_
