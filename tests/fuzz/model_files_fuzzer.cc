// Fuzzes the model file parsers: the first byte picks the file, the rest is
// its bytes.
//   even: model.safetensors -> ParseSafetensors; every tensor it accepts is
//         converted to FP32 (reads exactly the data range it promised)
//   odd:  config.json -> ParseBertConfig; an accepted config has positive
//         sizes and hidden_size divisible by num_attention_heads
#include <cstdint>

#include "core/base/tensor.h"
#include "core/models/bert/bert_config.h"
#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

void FuzzSafetensors(absl::string_view bytes) {
  absl::StatusOr<core::SafetensorsHeader> header =
      core::ParseSafetensors(bytes, "model.safetensors");
  if (!header.ok()) {
    FUZZ_CHECK(!header.status().message().empty());
    return;
  }
  for (const core::SafetensorsTensorInfo& info : header->tensors) {
    FUZZ_CHECK(info.begin <= info.end && info.end <= bytes.size());
    FUZZ_CHECK(header->Find(info.name) != nullptr);
    core::Tensor tensor = core::SafetensorsToFloat(bytes, info);
    FUZZ_CHECK(tensor.shape() == absl::MakeConstSpan(info.shape));
  }
}

void FuzzConfig(absl::string_view bytes) {
  absl::StatusOr<core::BertConfig> config = core::ParseBertConfig(bytes);
  if (!config.ok()) {
    FUZZ_CHECK(!config.status().message().empty());
    return;
  }
  FUZZ_CHECK(config->hidden_size > 0 && config->num_heads > 0);
  FUZZ_CHECK(config->num_layers > 0 && config->intermediate_size > 0);
  FUZZ_CHECK(config->hidden_size % config->num_heads == 0);
  FUZZ_CHECK(config->head_dim() > 0);
  FUZZ_CHECK(config->vocab_size > 0 && config->max_position_embeddings > 0);
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    attnserve::fuzz::FuzzSafetensors(bytes);
  } else {
    attnserve::fuzz::FuzzConfig(bytes);
  }
  return 0;
}
