#include "core/bert/model.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/safetensors.h"
#include "nlohmann/json.hpp"

namespace attnserve::core {
namespace {

constexpr size_t kMaxJsonFileBytes = 16 << 20;

std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT)
      return absl::NotFoundError(absl::StrCat(path, ": file not found"));
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  if (size_t(st.st_size) > kMaxJsonFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", st.st_size,
                                                   " bytes, expected at most ",
                                                   kMaxJsonFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad())
    return absl::InvalidArgumentError(absl::StrCat(path, ": read error"));
  return buffer.str();
}

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
                                             const BertTensorSource& source,
                                             absl::string_view file_name) {
  const int64_t hidden = config.hidden_size;
  auto get = [&](const std::string& name,
                 std::vector<int64_t> shape) -> absl::StatusOr<Tensor> {
    auto tensor = source(name);
    if (!tensor.ok()) return tensor.status();
    if (tensor->shape() != absl::Span<const int64_t>(shape)) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name, ": tensor \"", name, "\" has shape ",
          ShapeString(tensor->shape()), ", expected ", ShapeString(shape)));
    }
    return tensor;
  };
#define ASSIGN_OR_RETURN_TENSOR(lhs, name, ...) \
  {                                             \
    auto t = get(name, __VA_ARGS__);            \
    if (!t.ok()) return t.status();             \
    lhs = *std::move(t);                        \
  }

  BertWeights w;
  ASSIGN_OR_RETURN_TENSOR(w.word_embeddings,
                          "embeddings.word_embeddings.weight",
                          {config.vocab_size, hidden});
  ASSIGN_OR_RETURN_TENSOR(w.position_embeddings,
                          "embeddings.position_embeddings.weight",
                          {config.max_position_embeddings, hidden});
  ASSIGN_OR_RETURN_TENSOR(w.token_type_embeddings,
                          "embeddings.token_type_embeddings.weight",
                          {config.type_vocab_size, hidden});
  ASSIGN_OR_RETURN_TENSOR(w.embeddings_norm_gamma,
                          "embeddings.LayerNorm.weight", {hidden});
  ASSIGN_OR_RETURN_TENSOR(w.embeddings_norm_beta, "embeddings.LayerNorm.bias",
                          {hidden});

  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = absl::StrCat("encoder.layer.", i, ".");
    BertLayerWeights layer;
    std::vector<Tensor> qkv_weights(3), qkv_biases(3);
    const char* projections[3] = {"query", "key", "value"};
    for (int j = 0; j < 3; ++j) {
      const std::string name =
          absl::StrCat(p, "attention.self.", projections[j]);
      ASSIGN_OR_RETURN_TENSOR(qkv_weights[j], name + ".weight",
                              {hidden, hidden});
      ASSIGN_OR_RETURN_TENSOR(qkv_biases[j], name + ".bias", {hidden});
    }
    Tensor weight, bias;
    auto packed =
        PackedLinear::Create(ConcatRows(qkv_weights), ConcatRows(qkv_biases));
    if (!packed.ok()) return packed.status();
    layer.qkv = *std::move(packed);

    ASSIGN_OR_RETURN_TENSOR(weight, p + "attention.output.dense.weight",
                            {hidden, hidden});
    ASSIGN_OR_RETURN_TENSOR(bias, p + "attention.output.dense.bias", {hidden});
    packed = PackedLinear::Create(weight, bias);
    if (!packed.ok()) return packed.status();
    layer.attention_output = *std::move(packed);
    ASSIGN_OR_RETURN_TENSOR(layer.attention_norm_gamma,
                            p + "attention.output.LayerNorm.weight", {hidden});
    ASSIGN_OR_RETURN_TENSOR(layer.attention_norm_beta,
                            p + "attention.output.LayerNorm.bias", {hidden});

    ASSIGN_OR_RETURN_TENSOR(weight, p + "intermediate.dense.weight",
                            {config.intermediate_size, hidden});
    ASSIGN_OR_RETURN_TENSOR(bias, p + "intermediate.dense.bias",
                            {config.intermediate_size});
    packed = PackedLinear::Create(weight, bias);
    if (!packed.ok()) return packed.status();
    layer.intermediate = *std::move(packed);

    ASSIGN_OR_RETURN_TENSOR(weight, p + "output.dense.weight",
                            {hidden, config.intermediate_size});
    ASSIGN_OR_RETURN_TENSOR(bias, p + "output.dense.bias", {hidden});
    packed = PackedLinear::Create(weight, bias);
    if (!packed.ok()) return packed.status();
    layer.output = *std::move(packed);
    ASSIGN_OR_RETURN_TENSOR(layer.output_norm_gamma,
                            p + "output.LayerNorm.weight", {hidden});
    ASSIGN_OR_RETURN_TENSOR(layer.output_norm_beta, p + "output.LayerNorm.bias",
                            {hidden});
    w.layers.push_back(std::move(layer));
  }
#undef ASSIGN_OR_RETURN_TENSOR
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

  auto config_text = ReadSmallFile(dir + "config.json");
  if (!config_text.ok()) return config_text.status();
  auto config = ParseBertConfig(*config_text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(dir, config.status().message()));
  }
  model->config = *config;
  model->max_length = config->max_position_embeddings;

  const std::string weights_path = dir + "model.safetensors";
  if (!FileExists(weights_path)) {
    if (FileExists(dir + "pytorch_model.bin")) {
      return absl::InvalidArgumentError(
          absl::StrCat(weights_path,
                       ": not found; the directory has only pytorch_model.bin, "
                       "which attnserve does not "
                       "read: convert it to model.safetensors (e.g. with "
                       "safetensors.torch.save_file)"));
    }
    return absl::NotFoundError(absl::StrCat(weights_path, ": file not found"));
  }
  auto file = SafetensorsFile::Open(weights_path);
  if (!file.ok()) return file.status();
  const SafetensorsHeader& header = (*file)->header();
  const std::string prefix =
      header.Find("bert.embeddings.word_embeddings.weight") != nullptr ? "bert."
                                                                       : "";
  const absl::string_view bytes = (*file)->bytes();
  auto source = [&](const std::string& name) -> absl::StatusOr<Tensor> {
    const SafetensorsTensorInfo* info = header.Find(prefix + name);
    if (info == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          weights_path, ": tensor \"", prefix + name, "\" is missing"));
    }
    return SafetensorsToFloat(bytes, *info);
  };
  auto weights = BuildBertWeights(model->config, source, weights_path);
  if (!weights.ok()) return weights.status();
  model->weights = *std::move(weights);

  const std::string modules_path = dir + "modules.json";
  if (FileExists(modules_path)) {
    auto modules_text = ReadSmallFile(modules_path);
    if (!modules_text.ok()) return modules_text.status();
    auto modules = ParseModulesJson(*modules_text);
    if (!modules.ok()) {
      return absl::Status(modules.status().code(),
                          absl::StrCat(dir, modules.status().message()));
    }
    model->default_normalize = modules->normalize;
    if (!modules->pooling_path.empty()) {
      const std::string pooling_path =
          dir + modules->pooling_path + "/config.json";
      auto pooling_text = ReadSmallFile(pooling_path);
      if (!pooling_text.ok()) return pooling_text.status();
      auto pooling = ParsePoolingConfig(*pooling_text, pooling_path);
      if (!pooling.ok()) return pooling.status();
      model->default_pooling = *pooling;
    }
  }
  return std::shared_ptr<const BertModel>(std::move(model));
}

}  // namespace attnserve::core
