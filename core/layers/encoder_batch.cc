#include "core/layers/encoder_batch.h"

#include <cstring>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/attention/validate_attention.h"
#include "core/base/status_macros.h"

namespace attnserve::core {
namespace {

absl::Status ValidateBatch(const EncoderDims& dims, const PackedBatch& batch) {
  const int64_t total = int64_t(batch.token_ids.size());
  if (batch.offsets.size() < 2) {
    return absl::InvalidArgumentError(
        "offsets has fewer than 2 entries: no sequence to encode");
  }
  if (batch.offsets.front() != 0 || batch.offsets.back() != total) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offsets run from ", batch.offsets.front(), " to ",
        batch.offsets.back(), ", expected 0 to ", total, " (token count)"));
  }
  if (!batch.token_type_ids.empty() &&
      int64_t(batch.token_type_ids.size()) != total) {
    return absl::InvalidArgumentError(
        absl::StrCat("token_type_ids has ", batch.token_type_ids.size(),
                     " entries, expected 0 or ", total, " (token count)"));
  }
  for (size_t s = 0; s + 1 < batch.offsets.size(); ++s) {
    const int64_t length = batch.offsets[s + 1] - batch.offsets[s];
    if (length <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token_ids[", s, "] is empty, expected at least one token"));
    }
    if (length > dims.max_length) {
      return absl::InvalidArgumentError(
          absl::StrCat("token_ids[", s, "] has ", length,
                       " tokens, expected at most ", dims.max_length));
    }
    for (int64_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      const int32_t id = batch.token_ids[t];
      if (id < 0 || id >= dims.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "token_ids[", s, "].ids[", t - batch.offsets[s], "] is ", id,
            ", expected an id in [0, ", dims.vocab_size, ")"));
      }
      if (!batch.token_type_ids.empty()) {
        const int32_t type = batch.token_type_ids[t];
        if (type < 0 || type >= dims.type_vocab_size) {
          return absl::InvalidArgumentError(absl::StrCat(
              "token_type_ids[", t, "] is ", type, ", expected a type in [0, ",
              dims.type_vocab_size, ")"));
        }
      }
    }
  }
  return absl::OkStatus();
}

// The attention of each group for `spec`: LOCAL global positions at or past
// a group's length are dropped.
std::vector<AttentionSpec> PerGroup(const AttentionSpec& spec,
                                    const std::vector<LengthGroup>& groups) {
  std::vector<AttentionSpec> specs(groups.size(), spec);
  for (size_t g = 0; g < groups.size(); ++g) {
    specs[g].global_positions.clear();
    for (uint32_t p : spec.global_positions) {
      if (p < groups[g].length) specs[g].global_positions.push_back(p);
    }
  }
  return specs;
}

bool SameAttention(const AttentionSpec& a, const AttentionSpec& b) {
  return a.weighting == b.weighting && a.top_k == b.top_k &&
         a.sample == b.sample && a.seed == b.seed && a.scope == b.scope &&
         a.window_left == b.window_left && a.window_right == b.window_right &&
         a.global_positions == b.global_positions &&
         a.gaussian_sigma == b.gaussian_sigma && a.causal == b.causal &&
         a.scale == b.scale;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EncoderBatch>> EncoderBatch::Create(
    const EncoderDims& dims, const PackedBatch& batch,
    const EncodeOptions& options,
    const std::vector<AttentionSpec>& layer_attention) {
  RETURN_IF_ERROR(ValidateBatch(dims, batch));
  if (options.compute_dtype != DType::kFP32 &&
      options.compute_dtype != DType::kBF16) {
    return absl::InvalidArgumentError("compute_dtype must be FP32 or BF16");
  }
  const int64_t num_layers = dims.num_layers;
  std::unique_ptr<EncoderBatch> run(new EncoderBatch(dims, batch));
  run->weight_slots_.resize(num_layers);
  for (size_t i = 0; i < options.attention_layers.size(); ++i) {
    const int32_t layer = options.attention_layers[i];
    if (layer < -1 || layer >= num_layers) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attention_layers[", i, "] is ", layer,
          ", expected -1 (last) or a layer in [0, ", num_layers, ")"));
    }
    run->weight_slots_[layer == -1 ? num_layers - 1 : layer].push_back(i);
  }

  const DType compute = run->compute_ = options.compute_dtype;
  const bool bf16 = compute == DType::kBF16;
  const int64_t tokens = run->tokens_ = int64_t(batch.token_ids.size());
  const int64_t num_seqs = int64_t(batch.offsets.size()) - 1;
  const int64_t hidden = dims.hidden_size;
  const int64_t heads = dims.num_heads;
  const int64_t head_dim = dims.head_dim();
  run->positions_ = PositionIds(batch);

  // Sequences grouped by length: each group is one attention call, no
  // padding. Their query, key and value buffers are reused by every layer.
  std::vector<LengthGroup>& groups = run->groups_;
  {
    std::map<int64_t, int64_t> group_of_length;
    for (int64_t s = 0; s < num_seqs; ++s) {
      const int64_t length = batch.offsets[s + 1] - batch.offsets[s];
      auto [it, added] = group_of_length.emplace(length, groups.size());
      if (added) groups.emplace_back().length = length;
      groups[it->second].sequences.push_back(s);
    }
  }
  // Where each token's heads go.
  run->slots_.resize(tokens);
  for (size_t g = 0; g < groups.size(); ++g) {
    const int64_t length = groups[g].length;
    for (size_t b = 0; b < groups[g].sequences.size(); ++b) {
      const int64_t first = batch.offsets[groups[g].sequences[b]];
      groups[g].first_rows.push_back(first);
      for (int64_t i = 0; i < length; ++i) {
        run->slots_[first + i] = {int64_t(g),
                                  (int64_t(b) * heads * length + i) * head_dim,
                                  length * head_dim};
      }
    }
  }

  Workspace& workspace = run->workspace_;
  run->states_.Reserve(&workspace, DType::kFP32, tokens, hidden);
  run->attended_.Reserve(&workspace, DType::kFP32, tokens, hidden);
  if (bf16) {
    run->states_bf16_.Reserve(&workspace, DType::kBF16, tokens, hidden);
    run->attended_bf16_.Reserve(&workspace, DType::kBF16, tokens, hidden);
  }
  run->qkv_.Reserve(&workspace, compute, tokens, 3 * hidden);
  run->context_.Reserve(&workspace, compute, tokens, hidden);
  run->projected_.Reserve(&workspace, DType::kFP32, tokens, hidden);
  run->intermediate_.Reserve(&workspace, compute, tokens,
                             dims.intermediate_size);
  for (LengthGroup& g : groups) {
    for (size_t& offset : g.qkv_offset) {
      offset = workspace.Reserve(g.sequences.size() * g.length * hidden *
                                 DTypeSize(compute));
    }
  }
  workspace.Allocate();
  run->states_.ZeroPadding(workspace, DType::kFP32, tokens, hidden);
  run->attended_.ZeroPadding(workspace, DType::kFP32, tokens, hidden);
  if (bf16) {
    run->states_bf16_.ZeroPadding(workspace, DType::kBF16, tokens, hidden);
    run->attended_bf16_.ZeroPadding(workspace, DType::kBF16, tokens, hidden);
  }
  run->context_.ZeroPadding(workspace, compute, tokens, hidden);
  run->intermediate_.ZeroPadding(workspace, compute, tokens,
                                 dims.intermediate_size);

  run->qkv_heads_.resize(3);
  for (LengthGroup& g : groups) {
    const std::vector<int64_t> shape = {int64_t(g.sequences.size()), heads,
                                        g.length, head_dim};
    g.inputs.query = workspace.View(compute, shape, g.qkv_offset[0]);
    g.inputs.key = workspace.View(compute, shape, g.qkv_offset[1]);
    g.inputs.value = workspace.View(compute, shape, g.qkv_offset[2]);
    // The output stays FP32: MergeHeads converts it, in parallel.
    g.inputs.compute_dtype = compute;
    g.inputs.output_dtype = DType::kFP32;
    for (int part = 0; part < 3; ++part) {
      run->qkv_heads_[part].push_back(workspace.At<void>(g.qkv_offset[part]));
    }
  }

  // Each distinct layer attention per group, checked once against the
  // groups' shapes (the same in every layer).
  run->layer_attention_index_.resize(num_layers);
  std::vector<const AttentionSpec*> distinct;
  for (int64_t l = 0; l < num_layers; ++l) {
    const AttentionSpec& spec =
        options.attention ? *options.attention : layer_attention[l];
    size_t index = 0;
    while (index < distinct.size() && !SameAttention(*distinct[index], spec)) {
      ++index;
    }
    if (index == distinct.size()) {
      distinct.push_back(&spec);
      run->group_attention_.push_back(PerGroup(spec, groups));
      for (size_t g = 0; g < groups.size(); ++g) {
        RETURN_IF_ERROR(ValidateAttentionShapes(run->group_attention_[index][g],
                                                groups[g].inputs));
      }
    }
    run->layer_attention_index_[l] = index;
  }

  run->output_.attention.resize(options.attention_layers.size());
  for (auto& per_layer : run->output_.attention) per_layer.resize(num_seqs);
  run->output_.hidden = Tensor(DType::kFP32, {tokens, hidden});
  return run;
}

void EncoderBatch::KeepWeights(int64_t layer, size_t group,
                               const Tensor& weights) {
  const LengthGroup& g = groups_[group];
  const int64_t length = g.length;
  const int64_t per_seq = dims_.num_heads * length * length;
  for (size_t b = 0; b < g.sequences.size(); ++b) {
    Tensor map(DType::kFP32, {dims_.num_heads, length, length});
    std::memcpy(map.data<float>(), weights.data<float>() + b * per_seq,
                per_seq * sizeof(float));
    for (size_t slot : weight_slots_[layer]) {
      output_.attention[slot][g.sequences[b]] = map;
    }
  }
}

}  // namespace attnserve::core
