#include "core/model/heads/classifier_head.h"

#include <cmath>
#include <map>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

absl::Status Error(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("config.json: ", message));
}

// y[o] = b[o] + sum_i w[o, i] x[i], accumulated in double.
//   w: [out, in] FP32   b: [out] or empty   x: [in]   returns [out]
std::vector<double> Linear(const Tensor& w, const Tensor& b,
                           const std::vector<double>& x) {
  const int64_t out = w.dim(0), in = w.dim(1);
  std::vector<double> y(out);
  for (int64_t o = 0; o < out; ++o) {
    const float* row = w.data<float>() + o * in;
    double sum = b.empty() ? 0.0 : double(b.data<float>()[o]);
    for (int64_t i = 0; i < in; ++i) sum += double(row[i]) * x[i];
    y[o] = sum;
  }
  return y;
}

double Activate(const std::string& name, double x) {
  if (name == "gelu") return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") {
    const double k = std::sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
  }
  if (name == "silu" || name == "swish") return x / (1.0 + std::exp(-x));
  if (name == "relu") return x > 0 ? x : 0.0;
  return std::tanh(x);  // "tanh"
}

// config[key] when present and of type T (null counts as absent), else
// `fallback`; another type is an error naming the key.
template <typename T>
absl::StatusOr<T> Value(const nlohmann::json& config, const char* key,
                        T fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  const bool ok = std::is_same_v<T, bool>     ? it->is_boolean()
                  : std::is_same_v<T, double> ? it->is_number()
                                              : it->is_string();
  if (!ok) {
    return Error(absl::StrCat(key, " is ", it->dump(), ", expected a ",
                              std::is_same_v<T, bool>     ? "boolean"
                              : std::is_same_v<T, double> ? "number"
                                                          : "string"));
  }
  return it->get<T>();
}

bool KnownActivation(const std::string& name) {
  for (const char* known : {"gelu", "gelu_new", "gelu_pytorch_tanh", "silu",
                            "swish", "relu", "tanh"}) {
    if (name == known) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<ClassifierConfig> ParseClassifierConfig(
    absl::string_view config_json) {
  const nlohmann::json config =
      nlohmann::json::parse(config_json.begin(), config_json.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return Error("not a JSON object");
  }
  ClassifierConfig out;
  ASSIGN_OR_RETURN(const std::string model_type,
                   Value<std::string>(config, "model_type", ""));
  if (model_type == "bert") {
    out.kind = ClassifierKind::kBert;
  } else if (model_type == "roberta" || model_type == "xlm-roberta" ||
             model_type == "camembert" || model_type == "mpnet") {
    out.kind = ClassifierKind::kRoberta;
  } else if (model_type == "modernbert") {
    out.kind = ClassifierKind::kModernBert;
  } else {
    return Error(absl::StrCat(
        "model_type \"", model_type,
        "\" has no sequence-classification head here, expected one of bert, "
        "roberta, xlm-roberta, camembert, mpnet, modernbert"));
  }
  auto id2label = config.find("id2label");
  if (id2label == config.end() || id2label->is_null()) {
    out.labels = {"LABEL_0", "LABEL_1"};
  } else {
    if (!id2label->is_object() || id2label->empty()) {
      return Error("id2label is not a non-empty object of id -> label");
    }
    std::map<int64_t, std::string> by_id;
    for (auto it = id2label->begin(); it != id2label->end(); ++it) {
      int64_t id = -1;
      const std::string& key = it.key();
      if (!key.empty() && key.size() < 10 &&
          key.find_first_not_of("0123456789") == std::string::npos) {
        id = std::stoll(key);
      }
      if (id < 0 || !it.value().is_string()) {
        return Error(absl::StrCat("id2label[\"", key, "\"] is ",
                                  it.value().dump(),
                                  ", expected a string under an integer id"));
      }
      by_id[id] = it.value().get<std::string>();
    }
    for (const auto& [id, label] : by_id) {
      if (id != int64_t(out.labels.size())) {
        return Error(absl::StrCat("id2label has no id ", out.labels.size(),
                                  ", expected ids 0..", by_id.size() - 1));
      }
      out.labels.push_back(label);
    }
  }
  auto problem = config.find("problem_type");
  if (problem != config.end() && !problem->is_null()) {
    if (!problem->is_string()) return Error("problem_type is not a string");
    out.multi_label =
        problem->get<std::string>() == "multi_label_classification";
  }
  if (out.kind == ClassifierKind::kModernBert) {
    ASSIGN_OR_RETURN(const std::string pooling,
                     Value<std::string>(config, "classifier_pooling", "cls"));
    if (pooling != "cls" && pooling != "mean") {
      return Error(absl::StrCat("classifier_pooling is \"", pooling,
                                "\", expected \"cls\" or \"mean\""));
    }
    out.mean_pooling = pooling == "mean";
    ASSIGN_OR_RETURN(
        out.activation,
        Value<std::string>(config, "classifier_activation", "gelu"));
    if (!KnownActivation(out.activation)) {
      return Error(absl::StrCat("classifier_activation \"", out.activation,
                                "\" is not supported"));
    }
    ASSIGN_OR_RETURN(out.dense_bias,
                     Value<bool>(config, "classifier_bias", false));
    ASSIGN_OR_RETURN(out.norm_bias, Value<bool>(config, "norm_bias", false));
    ASSIGN_OR_RETURN(out.norm_eps, Value<double>(config, "norm_eps", 1e-5));
    if (!(out.norm_eps > 0) || !std::isfinite(out.norm_eps)) {
      return Error(absl::StrCat("norm_eps is ", out.norm_eps,
                                ", expected a finite number > 0"));
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<const ClassifierHead>> ClassifierHead::Load(
    const std::string& dir, absl::string_view config_json,
    int64_t hidden_size) {
  std::unique_ptr<ClassifierHead> head(new ClassifierHead());
  absl::StatusOr<ClassifierConfig> config = ParseClassifierConfig(config_json);
  if (!config.ok()) return ConfigError(dir, config.status());
  head->config_ = *std::move(config);
  head->hidden_size_ = hidden_size;
  const int64_t h = hidden_size, labels = head->num_labels();
  // No prefix: the head's names are stored as they are.
  ASSIGN_OR_RETURN(auto weights, OpenModelWeights(dir, "classifier", {}));
  std::string dense, out;
  switch (head->config_.kind) {
    case ClassifierKind::kBert:
      dense = "bert.pooler.dense";
      out = "classifier";
      break;
    case ClassifierKind::kRoberta:
      dense = "classifier.dense";
      out = "classifier.out_proj";
      break;
    case ClassifierKind::kModernBert:
      dense = "head.dense";
      out = "classifier";
      break;
  }
  ASSIGN_OR_RETURN(head->dense_weight_,
                   weights->Get(dense + ".weight", {h, h}));
  if (head->config_.kind != ClassifierKind::kModernBert ||
      head->config_.dense_bias) {
    ASSIGN_OR_RETURN(head->dense_bias_, weights->Get(dense + ".bias", {h}));
  }
  if (head->config_.kind == ClassifierKind::kModernBert) {
    ASSIGN_OR_RETURN(head->norm_weight_, weights->Get("head.norm.weight", {h}));
    if (head->config_.norm_bias) {
      ASSIGN_OR_RETURN(head->norm_bias_, weights->Get("head.norm.bias", {h}));
    }
  }
  ASSIGN_OR_RETURN(head->out_weight_,
                   weights->Get(out + ".weight", {labels, h}));
  ASSIGN_OR_RETURN(head->out_bias_, weights->Get(out + ".bias", {labels}));
  return std::unique_ptr<const ClassifierHead>(std::move(head));
}

std::vector<float> ClassifierHead::Logits(const Tensor& hidden) const {
  const int64_t h = hidden_size_, length = hidden.dim(0);
  const float* states = hidden.data<float>();
  std::vector<double> x(h, 0.0);
  if (config_.kind == ClassifierKind::kModernBert && config_.mean_pooling) {
    for (int64_t t = 0; t < length; ++t) {
      for (int64_t i = 0; i < h; ++i) x[i] += states[t * h + i];
    }
    for (double& v : x) v /= double(length);
  } else {
    for (int64_t i = 0; i < h; ++i) x[i] = states[i];  // the first token
  }
  std::vector<double> y = Linear(dense_weight_, dense_bias_, x);
  if (config_.kind == ClassifierKind::kModernBert) {
    double mean = 0, var = 0;
    for (double& v : y) {
      v = Activate(config_.activation, v);
      mean += v;
    }
    mean /= double(h);
    for (double v : y) var += (v - mean) * (v - mean);
    var /= double(h);
    const double inv = 1.0 / std::sqrt(var + config_.norm_eps);
    for (int64_t i = 0; i < h; ++i) {
      y[i] = (y[i] - mean) * inv * norm_weight_.data<float>()[i] +
             (norm_bias_.empty() ? 0.0 : norm_bias_.data<float>()[i]);
    }
  } else {
    for (double& v : y) v = std::tanh(v);
  }
  const std::vector<double> logits = Linear(out_weight_, out_bias_, y);
  return std::vector<float>(logits.begin(), logits.end());
}

}  // namespace attnserve::core
