#include "server/infer/tasks.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace attnserve::server {
namespace {

// What a model must be to serve `task`.
absl::string_view Needs(absl::string_view task) {
  if (task == "sparse") return "a *ForMaskedLM model";
  if (task == "rerank") {
    return "a *ForSequenceClassification model with one label";
  }
  if (task == "classify") {
    return "a *ForSequenceClassification model with labels";
  }
  return "an encoder";
}

// The RPC that serves `task`.
absl::string_view Rpc(absl::string_view task) {
  if (task == "sparse") return "Encode with pooling SPLADE";
  if (task == "rerank") return "Rerank";
  if (task == "classify") return "Classify";
  return "Encode";
}

}  // namespace

absl::Status CheckServes(const ServedModel& model, absl::string_view task,
                         absl::string_view call) {
  if (std::find(model.tasks.begin(), model.tasks.end(), task) !=
      model.tasks.end()) {
    return absl::OkStatus();
  }
  std::vector<std::string> serves;
  for (const std::string& t : model.tasks) serves.emplace_back(Rpc(t));
  return absl::InvalidArgumentError(
      absl::StrCat("model \"", model.name, "\" (", model.info.architecture,
                   ") cannot serve ", call, ", which needs ", Needs(task),
                   "; it serves: ", absl::StrJoin(serves, ", ")));
}

}  // namespace attnserve::server
