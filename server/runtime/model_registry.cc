#include "server/runtime/model_registry.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model/load_model.h"
#include "core/model/model_files.h"
#include "core/model/sentence_transformers.h"
#include "core/models/demo/demo_model.h"
#include "core/tokenizer/load_tokenizer.h"
#include "core/tokenizer/vocab_txt.h"

namespace attnserve::server {
namespace {

absl::Status Prefixed(absl::string_view model, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("model ", model, ": ", status.message()));
}

}  // namespace

absl::StatusOr<ModelSpec> ParseModelSpec(absl::string_view flag_value) {
  if (flag_value == "demo") return ModelSpec{"demo", ""};
  const size_t eq = flag_value.find('=');
  if (eq == absl::string_view::npos || eq == 0 || eq + 1 == flag_value.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model ", flag_value, ": expected NAME=DIR or demo"));
  }
  return ModelSpec{std::string(flag_value.substr(0, eq)),
                   std::string(flag_value.substr(eq + 1))};
}

absl::StatusOr<std::shared_ptr<ServedModel>> LoadServedModel(
    const ModelSpec& spec) {
  auto served = std::make_shared<ServedModel>();
  served->name = spec.name;
  served->directory = spec.directory;
  if (spec.directory.empty()) {
    absl::StatusOr<core::DemoModel> demo = core::MakeDemoModel();
    if (!demo.ok()) return Prefixed(spec.name, demo.status());
    absl::StatusOr<std::unique_ptr<ServedTokenizer>> tokenizer =
        core::tokenizers::MakeTokenizerFromVocab(demo->vocab, {});
    if (!tokenizer.ok()) return Prefixed(spec.name, tokenizer.status());
    served->encoder = demo->model;
    served->tokenizer = *std::move(tokenizer);
  } else {
    absl::StatusOr<std::shared_ptr<const core::EncoderModel>> encoder =
        core::LoadEncoderModel(spec.directory);
    if (!encoder.ok()) return Prefixed(spec.name, encoder.status());
    absl::StatusOr<std::shared_ptr<const ServedTokenizer>> tokenizer =
        core::tokenizers::LoadTokenizer(spec.directory);
    if (!tokenizer.ok()) return Prefixed(spec.name, tokenizer.status());
    served->encoder = *std::move(encoder);
    served->tokenizer = *std::move(tokenizer);
    absl::StatusOr<std::string> dir = core::ModelDirectory(spec.directory);
    if (!dir.ok()) return Prefixed(spec.name, dir.status());
    absl::StatusOr<core::SentenceTransformersPrompts> prompts =
        core::ReadSentenceTransformersPrompts(*dir);
    if (!prompts.ok()) return Prefixed(spec.name, prompts.status());
    served->prompts = std::move(prompts->prompts);
    served->default_prompt_name = std::move(prompts->default_prompt_name);
  }
  served->info = served->encoder->info();
  if (absl::EndsWith(served->info.architecture, "ForSequenceClassification")) {
    // CONTRACT.md §9: one label reranks, more classify.
    absl::StatusOr<std::string> dir = core::ModelDirectory(spec.directory);
    if (!dir.ok()) return Prefixed(spec.name, dir.status());
    absl::StatusOr<std::string> config = core::ReadModelConfig(*dir);
    if (!config.ok()) return Prefixed(spec.name, config.status());
    absl::StatusOr<std::unique_ptr<const core::ClassifierHead>> head =
        core::ClassifierHead::Load(*dir, *config, served->info.hidden_size);
    if (!head.ok()) return Prefixed(spec.name, head.status());
    served->classifier = *std::move(head);
    served->labels = served->classifier->config().labels;
    served->tasks = {served->labels.size() == 1 ? "rerank" : "classify"};
  } else {
    served->tasks = {"embed"};
  }
  if (absl::EndsWith(served->info.architecture, "ForMaskedLM")) {
    // The masked-LM head gives SPLADE; a checkpoint without the head (or an
    // architecture without one here) embeds only.
    absl::StatusOr<std::string> dir = core::ModelDirectory(spec.directory);
    if (!dir.ok()) return Prefixed(spec.name, dir.status());
    absl::StatusOr<std::string> config = core::ReadModelConfig(*dir);
    if (!config.ok()) return Prefixed(spec.name, config.status());
    absl::StatusOr<std::unique_ptr<const core::MaskedLmHead>> head =
        core::MaskedLmHead::Load(*dir, *config, served->info.hidden_size,
                                 served->info.vocab_size);
    if (head.ok()) {
      served->masked_lm = *std::move(head);
      served->tasks.push_back("sparse");
    } else if (!absl::IsNotFound(head.status())) {
      return Prefixed(spec.name, head.status());
    }
  }
  const int64_t model_vocab = served->info.vocab_size;
  if (static_cast<int64_t>(served->tokenizer->VocabSize()) > model_vocab) {
    return absl::InvalidArgumentError(
        absl::StrCat("model ", spec.name, ": the tokenizer has ",
                     served->tokenizer->VocabSize(),
                     " tokens but config.json vocab_size is ", model_vocab));
  }
  if (served->tokenizer->model_max_length() > 0) {
    served->info.max_length = std::min(served->info.max_length,
                                       served->tokenizer->model_max_length());
  }
  return served;
}

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelRegistry::Lookup(
    absl::string_view name) const {
  for (const auto& m : models_) {
    if (name.empty() || m->name == name) return m;
  }
  std::vector<std::string> names;
  for (const auto& m : models_) names.push_back(m->name);
  if (names.empty()) {
    return absl::NotFoundError(absl::StrCat("model \"", name,
                                            "\" is not served: the server "
                                            "was started without --model"));
  }
  return absl::NotFoundError(
      absl::StrCat("model \"", name,
                   "\" is not served; served: ", absl::StrJoin(names, ", ")));
}

}  // namespace attnserve::server
