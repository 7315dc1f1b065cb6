#include "core/bert/model.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/io/weight_source.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

constexpr int64_t kMaxJsonFileBytes = 16 << 20;

// Concatenates FP32 tensors along axis 0.
Tensor ConcatRows(const std::vector<Tensor>& parts) {
  std::vector<int64_t> shape(parts[0].shape().begin(), parts[0].shape().end());
  shape[0] = 0;
  for (const Tensor& p : parts) shape[0] += p.dim(0);
  Tensor out(DType::kFP32, shape);
  float* dst = out.data<float>();
  for (const Tensor& p : parts) {
    std::memcpy(dst, p.data<float>(), p.num_bytes());
    dst += p.num_elements();
  }
  return out;
}

}  // namespace

absl::string_view PoolingName(Pooling pooling) {
  switch (pooling) {
    case Pooling::kCls:
      return "CLS";
    case Pooling::kMean:
      return "MEAN";
    case Pooling::kMax:
      return "MAX";
  }
  return "?";
}

absl::StatusOr<BertWeights> BuildBertWeights(const BertConfig& config,
                                             const WeightSource& source) {
  const int64_t hidden = config.hidden_size;
  const int64_t intermediate = config.intermediate_size;
  BertWeights w;
  ASSIGN_OR_RETURN(w.word_embeddings,
                   source.Get("embeddings.word_embeddings.weight",
                              {config.vocab_size, hidden}));
  ASSIGN_OR_RETURN(w.position_embeddings,
                   source.Get("embeddings.position_embeddings.weight",
                              {config.max_position_embeddings, hidden}));
  ASSIGN_OR_RETURN(w.token_type_embeddings,
                   source.Get("embeddings.token_type_embeddings.weight",
                              {config.type_vocab_size, hidden}));
  ASSIGN_OR_RETURN(w.embeddings_norm_gamma,
                   source.Get("embeddings.LayerNorm.weight", {hidden}));
  ASSIGN_OR_RETURN(w.embeddings_norm_beta,
                   source.Get("embeddings.LayerNorm.bias", {hidden}));

  // The packed linear map of "<name>.weight" [out, in] and "<name>.bias".
  auto linear = [&](const std::string& name, int64_t out,
                    int64_t in) -> absl::StatusOr<PackedLinear> {
    ASSIGN_OR_RETURN(Tensor weight, source.Get(name + ".weight", {out, in}));
    ASSIGN_OR_RETURN(Tensor bias, source.Get(name + ".bias", {out}));
    return PackedLinear::Create(weight, bias);
  };
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = absl::StrCat("encoder.layer.", i, ".");
    BertLayerWeights layer;
    std::vector<Tensor> qkv_weights(3), qkv_biases(3);
    const char* projections[3] = {"query", "key", "value"};
    for (int j = 0; j < 3; ++j) {
      const std::string name =
          absl::StrCat(p, "attention.self.", projections[j]);
      ASSIGN_OR_RETURN(qkv_weights[j],
                       source.Get(name + ".weight", {hidden, hidden}));
      ASSIGN_OR_RETURN(qkv_biases[j], source.Get(name + ".bias", {hidden}));
    }
    ASSIGN_OR_RETURN(layer.qkv, PackedLinear::Create(ConcatRows(qkv_weights),
                                                     ConcatRows(qkv_biases)));
    ASSIGN_OR_RETURN(layer.attention_output,
                     linear(p + "attention.output.dense", hidden, hidden));
    ASSIGN_OR_RETURN(
        layer.attention_norm_gamma,
        source.Get(p + "attention.output.LayerNorm.weight", {hidden}));
    ASSIGN_OR_RETURN(
        layer.attention_norm_beta,
        source.Get(p + "attention.output.LayerNorm.bias", {hidden}));
    ASSIGN_OR_RETURN(layer.intermediate,
                     linear(p + "intermediate.dense", intermediate, hidden));
    ASSIGN_OR_RETURN(layer.output,
                     linear(p + "output.dense", hidden, intermediate));
    ASSIGN_OR_RETURN(layer.output_norm_gamma,
                     source.Get(p + "output.LayerNorm.weight", {hidden}));
    ASSIGN_OR_RETURN(layer.output_norm_beta,
                     source.Get(p + "output.LayerNorm.bias", {hidden}));
    w.layers.push_back(std::move(layer));
  }
  return w;
}

absl::StatusOr<SentenceTransformersModules> ParseModulesJson(
    absl::string_view json_text) {
  const nlohmann::json modules =
      nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (modules.is_discarded() || !modules.is_array()) {
    return absl::InvalidArgumentError(
        "modules.json: expected a JSON list of modules");
  }
  SentenceTransformersModules out;
  for (size_t i = 0; i < modules.size(); ++i) {
    const nlohmann::json& m = modules[i];
    auto type_it = m.is_object() ? m.find("type") : m.end();
    if (!m.is_object() || type_it == m.end() || !type_it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "modules.json: module ", i, " has no string field \"type\""));
    }
    const std::string type = type_it->get<std::string>();
    if (type == "sentence_transformers.models.Transformer") continue;
    if (type == "sentence_transformers.models.Normalize") {
      out.normalize = true;
    } else if (type == "sentence_transformers.models.Pooling") {
      auto path_it = m.find("path");
      if (path_it == m.end() || !path_it->is_string() ||
          path_it->get<std::string>().empty() ||
          path_it->get<std::string>().find("..") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "modules.json: module ", i,
            " (Pooling) has no relative \"path\" inside the model"));
      }
      out.pooling_path = path_it->get<std::string>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "modules.json: module ", i, " has type \"", type,
          "\", expected one of sentence_transformers.models.Transformer, "
          "sentence_transformers.models.Pooling, "
          "sentence_transformers.models.Normalize"));
    }
  }
  return out;
}

absl::StatusOr<Pooling> ParsePoolingConfig(absl::string_view json_text,
                                           absl::string_view file_name) {
  const nlohmann::json config =
      nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": expected a JSON object"));
  }
  auto flag = [&](const char* name) {
    auto it = config.find(name);
    return it != config.end() && it->is_boolean() && it->get<bool>();
  };
  for (const char* unsupported :
       {"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken"}) {
    if (flag(unsupported)) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name, ": ", unsupported,
          " is not supported, expected one of pooling_mode_cls_token, "
          "pooling_mode_mean_tokens, pooling_mode_max_tokens"));
    }
  }
  const bool cls = flag("pooling_mode_cls_token");
  const bool mean = flag("pooling_mode_mean_tokens");
  const bool max = flag("pooling_mode_max_tokens");
  if (int(cls) + int(mean) + int(max) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name,
                     ": expected exactly one of pooling_mode_cls_token, "
                     "pooling_mode_mean_tokens, "
                     "pooling_mode_max_tokens to be true"));
  }
  return cls ? Pooling::kCls : mean ? Pooling::kMean : Pooling::kMax;
}

absl::StatusOr<std::shared_ptr<const BertModel>> LoadBertModel(
    const std::string& directory) {
  struct stat st;
  if (::stat(directory.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(
        directory, ": model directory not found: ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(directory, ": not a directory"));
  }
  const std::string dir = directory.back() == '/' ? directory : directory + "/";
  auto model = std::make_shared<BertModel>();

  ASSIGN_OR_RETURN(const std::string config_text,
                   ReadFile(dir + "config.json", kMaxJsonFileBytes));
  auto config = ParseBertConfig(config_text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(dir, config.status().message()));
  }
  model->config = *config;
  model->max_length = config->max_position_embeddings;

  const std::string weights_path = dir + "model.safetensors";
  if (!PathExists(weights_path)) {
    if (PathExists(dir + "pytorch_model.bin")) {
      return absl::InvalidArgumentError(
          absl::StrCat(weights_path,
                       ": not found; the directory has only pytorch_model.bin, "
                       "which attnserve does not "
                       "read: convert it to model.safetensors (e.g. with "
                       "safetensors.torch.save_file)"));
    }
    return absl::NotFoundError(absl::StrCat(weights_path, ": file not found"));
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<SafetensorsWeightSource> source,
      SafetensorsWeightSource::Open(
          weights_path, "embeddings.word_embeddings.weight", {"bert."}));
  ASSIGN_OR_RETURN(model->weights, BuildBertWeights(model->config, *source));

  const std::string modules_path = dir + "modules.json";
  if (PathExists(modules_path)) {
    ASSIGN_OR_RETURN(const std::string modules_text,
                     ReadFile(modules_path, kMaxJsonFileBytes));
    auto modules = ParseModulesJson(modules_text);
    if (!modules.ok()) {
      return absl::Status(modules.status().code(),
                          absl::StrCat(dir, modules.status().message()));
    }
    model->default_normalize = modules->normalize;
    if (!modules->pooling_path.empty()) {
      const std::string pooling_path =
          dir + modules->pooling_path + "/config.json";
      ASSIGN_OR_RETURN(const std::string pooling_text,
                       ReadFile(pooling_path, kMaxJsonFileBytes));
      ASSIGN_OR_RETURN(model->default_pooling,
                       ParsePoolingConfig(pooling_text, pooling_path));
    }
  }
  return std::shared_ptr<const BertModel>(std::move(model));
}

}  // namespace attnserve::core
