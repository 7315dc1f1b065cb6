#ifndef ATTNSERVE_CORE_IO_WEIGHT_SOURCE_H_
#define ATTNSERVE_CORE_IO_WEIGHT_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/base/tensor.h"
#include "core/io/safetensors.h"

namespace attnserve::core {

// Where a model loader gets its FP32 weights, by Hugging Face tensor name
// (without the architecture prefix such as "bert.").
class WeightSource {
 public:
  virtual ~WeightSource() = default;

  // The tensor stored under `name` as FP32, checked to have exactly `shape`.
  // Errors name the tensor, and for a wrong shape both shapes.
  virtual absl::StatusOr<Tensor> Get(const std::string& name,
                                     absl::Span<const int64_t> shape) const = 0;
  // Whether `name` is stored (for optional tensors, e.g. biases).
  virtual bool Contains(const std::string& name) const = 0;
};

// The tensors of a model.safetensors file, F32, F16 or BF16 on disk.
class SafetensorsWeightSource : public WeightSource {
 public:
  // Maps `path`. The prefix is the first of `prefixes` under which `probe`
  // (e.g. "embeddings.word_embeddings.weight") is stored, else none: a
  // BertModel checkpoint stores "embeddings...", a BertForMaskedLM one
  // "bert.embeddings...". Errors name the path.
  static absl::StatusOr<std::unique_ptr<SafetensorsWeightSource>> Open(
      const std::string& path, absl::string_view probe,
      const std::vector<std::string>& prefixes);

  // Errors: `<path>: tensor "<prefix><name>" is missing`, or
  // `<path>: tensor "<name>" has shape [a, b], expected [c, d]`.
  absl::StatusOr<Tensor> Get(const std::string& name,
                             absl::Span<const int64_t> shape) const override;
  bool Contains(const std::string& name) const override;

  const std::string& prefix() const { return prefix_; }

 private:
  explicit SafetensorsWeightSource(std::unique_ptr<SafetensorsFile> file)
      : file_(std::move(file)) {}
  std::unique_ptr<SafetensorsFile> file_;
  std::string prefix_;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_IO_WEIGHT_SOURCE_H_
