#include "server/infer/encode_work.h"

#include <cstring>

#include "absl/hash/hash.h"
#include "core/base/status_macros.h"

namespace attnserve::server {
namespace {

std::vector<int64_t> TokenCounts(
    const std::vector<std::vector<int32_t>>& token_ids) {
  std::vector<int64_t> counts;
  counts.reserve(token_ids.size());
  for (const auto& ids : token_ids)
    counts.push_back(static_cast<int64_t>(ids.size()));
  return counts;
}

// Equal options give equal keys; different options almost surely differ.
uint64_t OptionsKey(const core::EncodeOptions& options) {
  size_t key =
      absl::HashOf(static_cast<int>(options.compute_dtype),
                   options.attention_layers, options.attention.has_value());
  if (options.attention) {
    const core::AttentionSpec& s = *options.attention;
    key = absl::HashOf(key, static_cast<int>(s.weighting), s.top_k, s.sample,
                       s.seed, static_cast<int>(s.scope), s.window_left,
                       s.window_right, s.global_positions, s.gaussian_sigma,
                       s.causal, s.scale);
  }
  return key;
}

}  // namespace

EncodeWork::EncodeWork(std::vector<std::vector<int32_t>> token_ids,
                       core::EncodeOptions options, absl::Time deadline)
    : EncodeWork(std::move(token_ids), {}, std::move(options), deadline) {}

EncodeWork::EncodeWork(std::vector<std::vector<int32_t>> token_ids,
                       std::vector<std::vector<int32_t>> token_type_ids,
                       core::EncodeOptions options, absl::Time deadline)
    : ScheduledRequest(TokenCounts(token_ids), deadline, nullptr,
                       OptionsKey(options)),
      hidden(token_ids.size()),
      attention(token_ids.size()),
      token_ids_(std::move(token_ids)),
      token_type_ids_(std::move(token_type_ids)),
      options_(std::move(options)) {}

absl::Status ComputeEncodeBatch(const core::EncoderModel& model,
                                const Batch& batch) {
  if (batch.empty()) return absl::OkStatus();
  const auto& first =
      static_cast<const EncodeWork&>(*batch.entries()[0].request);
  core::PackedBatch packed;
  packed.offsets.reserve(batch.size() + 1);
  packed.offsets.push_back(0);
  packed.token_ids.reserve(batch.total_tokens());
  // Token types only when some sequence has them (text pairs); the others'
  // are 0.
  bool types = false;
  for (const BatchEntry& entry : batch.entries()) {
    types |= !static_cast<const EncodeWork&>(*entry.request)
                  .token_type_ids()
                  .empty();
  }
  for (const BatchEntry& entry : batch.entries()) {
    const auto& work = static_cast<const EncodeWork&>(*entry.request);
    const std::vector<int32_t>& ids = work.token_ids()[entry.sequence];
    packed.token_ids.insert(packed.token_ids.end(), ids.begin(), ids.end());
    if (types) {
      if (work.token_type_ids().empty()) {
        packed.token_type_ids.resize(packed.token_ids.size(), 0);
      } else {
        const std::vector<int32_t>& t = work.token_type_ids()[entry.sequence];
        packed.token_type_ids.insert(packed.token_type_ids.end(), t.begin(),
                                     t.end());
      }
    }
    packed.offsets.push_back(static_cast<int64_t>(packed.token_ids.size()));
  }
  ASSIGN_OR_RETURN(core::EncoderOutput output,
                   core::Encode(model, packed, first.options()));

  const int64_t width = output.hidden.dim(1);
  for (int s = 0; s < batch.size(); ++s) {
    const BatchEntry& entry = batch.entries()[s];
    auto& work = static_cast<EncodeWork&>(*entry.request);
    const int64_t begin = packed.offsets[s];
    const int64_t length = packed.offsets[s + 1] - begin;
    core::Tensor hidden(core::DType::kFP32, {length, width});
    std::memcpy(hidden.data<float>(),
                output.hidden.data<float>() + begin * width,
                hidden.num_bytes());
    work.hidden[entry.sequence] = std::move(hidden);
    std::vector<core::Tensor>& maps = work.attention[entry.sequence];
    maps.clear();
    for (const std::vector<core::Tensor>& layer : output.attention)
      maps.push_back(layer[s]);
  }
  return absl::OkStatus();
}

}  // namespace attnserve::server
