#include "core/bert/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/attention/fused_attention.h"
#include "core/attention/validate_attention.h"
#include "core/base/huge_pages.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/kernels/layer_norm.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {
namespace {

// A buffer for `rows` activations padded to the matmul row count. The real
// rows are left uninitialised (every user writes them first); the padding
// rows are zero and never read back.
Tensor ActivationBuffer(DType dtype, int64_t rows, int64_t width) {
  Tensor t(dtype, {PaddedRows(rows), width});
  const size_t row_bytes = size_t(width) * DTypeSize(dtype);
  std::memset(static_cast<char*>(t.raw_data()) + rows * row_bytes, 0,
              (t.dim(0) - rows) * row_bytes);
  return t;
}

// Where a packed row's heads live in its group's [batch, heads, len,
// head_dim] tensors: row i of batch item b starts at element
// offset = (b * heads * len + i) * head_dim, head h head_stride = len *
// head_dim elements further.
struct HeadSlot {
  int64_t group;
  int64_t offset;
  int64_t head_stride;
};

// src: [rows, src_stride] in `dtype` (FP32 or BF16) with rows =
// slots.size(). For each part p and head h, copies columns
// col0 + (p * heads + h) * head_dim + [0, head_dim) of row r to head h of row
// r's slot in dst[p][slots[r].group], a [batch, heads, len, head_dim] buffer
// in `dtype`.
void SplitHeads(const void* src, int64_t src_stride, int64_t col0,
                int64_t heads, int64_t head_dim,
                absl::Span<const HeadSlot> slots, DType dtype,
                const std::vector<std::vector<void*>>& dst) {
  const size_t element = DTypeSize(dtype);
  const size_t head_bytes = head_dim * element;
  ParallelFor(int64_t(slots.size()), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const HeadSlot& slot = slots[r];
      for (size_t p = 0; p < dst.size(); ++p) {
        const char* row =
            static_cast<const char*>(src) +
            (r * src_stride + col0 + p * heads * head_dim) * element;
        char* out = static_cast<char*>(dst[p][slot.group]);
        for (int64_t h = 0; h < heads; ++h) {
          std::memcpy(out + (slot.offset + h * slot.head_stride) * element,
                      row + h * head_bytes, head_bytes);
        }
      }
    }
  });
}

// The inverse for attention outputs: head h of row r's slot in
// src[slots[r].group] ([batch, heads, len, head_dim] FP32) goes to columns
// h * head_dim + [0, head_dim) of row r of dst ([rows, heads * head_dim] in
// `dtype`, FP32 or BF16).
void MergeHeads(const std::vector<const float*>& src,
                absl::Span<const HeadSlot> slots, int64_t heads,
                int64_t head_dim, DType dtype, void* dst) {
  const bool bf16 = dtype == DType::kBF16;
  const int64_t width = heads * head_dim;
  ParallelFor(int64_t(slots.size()), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const HeadSlot& slot = slots[r];
      for (int64_t h = 0; h < heads; ++h) {
        const float* s = src[slot.group] + slot.offset + h * slot.head_stride;
        const int64_t d = r * width + h * head_dim;
        if (bf16) {
          ConvertToBF16(s, static_cast<BF16*>(dst) + d, head_dim);
        } else {
          std::memcpy(static_cast<float*>(dst) + d, s,
                      head_dim * sizeof(float));
        }
      }
    }
  });
}

// Slots of a [batch, len] block of rows in one group: row b * len + i.
std::vector<HeadSlot> DenseSlots(int64_t batch, int64_t len, int64_t heads,
                                 int64_t head_dim) {
  std::vector<HeadSlot> slots(batch * len);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < len; ++i) {
      slots[b * len + i] = {0, (b * heads * len + i) * head_dim,
                            len * head_dim};
    }
  }
  return slots;
}

// Memory of an Encode call, carved into 64-byte aligned buffers. A thread
// keeps the memory of its last call (up to kMaxKeptWorkspaceBytes) for the
// next one, so a warm encoder neither allocates nor page-faults activations.
// A larger call gets memory of its own, freed when it returns: one huge batch
// does not pin its memory on the thread for good. 256 MiB holds ~5900
// BERT-base tokens in FP32.
constexpr size_t kMaxKeptWorkspaceBytes = size_t{256} << 20;

class Workspace {
 public:
  // Reserves `bytes`; returns the offset of the buffer from base().
  size_t Reserve(size_t bytes) {
    const size_t offset = size_;
    size_ += (bytes + 63) / 64 * 64;
    return offset;
  }
  // Obtains the memory for everything reserved; call once, after the last
  // Reserve().
  void Allocate() {
    thread_local std::shared_ptr<void> kept;
    thread_local size_t kept_bytes = 0;
    if (size_ > kMaxKeptWorkspaceBytes) {
      memory_ = AllocateHugePageBacked(size_);
      return;
    }
    if (kept_bytes < size_) {
      kept.reset();
      // Some headroom, so slowly growing batches do not reallocate each call.
      kept_bytes = std::min(kMaxKeptWorkspaceBytes, size_ + size_ / 4);
      kept = AllocateHugePageBacked(kept_bytes);
    }
    memory_ = kept;
  }
  template <class T>
  T* At(size_t offset) const {
    return reinterpret_cast<T*>(static_cast<char*>(memory_.get()) + offset);
  }
  Tensor View(DType dtype, std::vector<int64_t> shape, size_t offset) const {
    return Tensor::View(dtype, std::move(shape), memory_, At<void>(offset));
  }

 private:
  size_t size_ = 0;
  std::shared_ptr<void> memory_;
};

// An activation buffer of `rows` rows padded to PaddedRows(rows), `width`
// elements of `dtype` each.
struct ActivationRows {
  size_t offset = 0;
  void Reserve(Workspace* workspace, DType dtype, int64_t rows, int64_t width) {
    offset = workspace->Reserve(PaddedRows(rows) * width * DTypeSize(dtype));
  }
  // Zeroes the padding rows (past `rows`), which the matmuls compute and
  // nobody reads: so they never hold NaN from an earlier call.
  void ZeroPadding(const Workspace& workspace, DType dtype, int64_t rows,
                   int64_t width) const {
    const size_t row_bytes = width * DTypeSize(dtype);
    std::memset(workspace.At<char>(offset) + rows * row_bytes, 0,
                (PaddedRows(rows) - rows) * row_bytes);
  }
};

absl::Status ValidateBatch(const BertConfig& config, const PackedBatch& batch) {
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
    if (length > config.max_position_embeddings) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token_ids[", s, "] has ", length, " tokens, expected at most ",
          config.max_position_embeddings));
    }
    for (int64_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      const int32_t id = batch.token_ids[t];
      if (id < 0 || id >= config.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "token_ids[", s, "].ids[", t - batch.offsets[s], "] is ", id,
            ", expected an id in [0, ", config.vocab_size, ")"));
      }
      if (!batch.token_type_ids.empty()) {
        const int32_t type = batch.token_type_ids[t];
        if (type < 0 || type >= config.type_vocab_size) {
          return absl::InvalidArgumentError(absl::StrCat(
              "token_type_ids[", t, "] is ", type, ", expected a type in [0, ",
              config.type_vocab_size, ")"));
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EncoderOutput> Encode(const BertModel& model,
                                     const PackedBatch& batch,
                                     const EncodeOptions& options) {
  const BertConfig& config = model.config;
  RETURN_IF_ERROR(ValidateBatch(config, batch));
  if (options.compute_dtype != DType::kFP32 &&
      options.compute_dtype != DType::kBF16) {
    return absl::InvalidArgumentError("compute_dtype must be FP32 or BF16");
  }
  const int64_t num_layers = config.num_layers;
  // For each layer, the indices into options.attention_layers that ask for
  // its attention weights.
  std::vector<std::vector<size_t>> attention_slots(num_layers);
  for (size_t i = 0; i < options.attention_layers.size(); ++i) {
    const int32_t layer = options.attention_layers[i];
    if (layer < -1 || layer >= num_layers) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attention_layers[", i, "] is ", layer,
          ", expected -1 (last) or a layer in [0, ", num_layers, ")"));
    }
    attention_slots[layer == -1 ? num_layers - 1 : layer].push_back(i);
  }

  const DType compute = options.compute_dtype;
  const bool bf16 = compute == DType::kBF16;
  const int64_t tokens = int64_t(batch.token_ids.size());
  const int64_t num_seqs = int64_t(batch.offsets.size()) - 1;
  const int64_t hidden = config.hidden_size;
  const int64_t heads = config.num_heads;
  const int64_t head_dim = config.head_dim();
  const int64_t intermediate_size = config.intermediate_size;
  const BertWeights& w = model.weights;
  const AttentionSpec spec = options.attention.value_or(AttentionSpec());

  // Sequences grouped by length: each group is one attention call, no
  // padding. Their query, key and value buffers are reused by every layer.
  struct LengthGroup {
    int64_t length = 0;
    std::vector<int64_t> sequences;
    std::vector<int64_t> first_rows;  // of the sequences, in the packed rows
    size_t qkv_offset[3] = {};        // query, key, value in the workspace
    AttentionInputs inputs;
    // The layers' attention; LOCAL global positions past the end of these
    // sequences are dropped (those tokens do not exist in them).
    AttentionSpec spec;
    AttentionOutputs out;
  };
  std::vector<LengthGroup> groups;
  {
    std::map<int64_t, int64_t> group_of_length;
    for (int64_t s = 0; s < num_seqs; ++s) {
      const int64_t length = batch.offsets[s + 1] - batch.offsets[s];
      auto [it, added] = group_of_length.emplace(length, groups.size());
      if (added) groups.emplace_back().length = length;
      groups[it->second].sequences.push_back(s);
    }
  }
  // Token t's position within its sequence, and where its heads go.
  std::vector<int64_t> positions(tokens);
  std::vector<HeadSlot> slots(tokens);
  for (size_t g = 0; g < groups.size(); ++g) {
    const int64_t length = groups[g].length;
    for (size_t b = 0; b < groups[g].sequences.size(); ++b) {
      const int64_t first = batch.offsets[groups[g].sequences[b]];
      groups[g].first_rows.push_back(first);
      for (int64_t i = 0; i < length; ++i) {
        positions[first + i] = i;
        slots[first + i] = {int64_t(g),
                            (int64_t(b) * heads * length + i) * head_dim,
                            length * head_dim};
      }
    }
  }

  Workspace workspace;
  ActivationRows x, x_attended, x_bf16, x_attended_bf16, qkv, context,
      projected, intermediate;
  x.Reserve(&workspace, DType::kFP32, tokens, hidden);  // layer input / output
  x_attended.Reserve(&workspace, DType::kFP32, tokens, hidden);
  if (bf16) {
    x_bf16.Reserve(&workspace, DType::kBF16, tokens, hidden);
    x_attended_bf16.Reserve(&workspace, DType::kBF16, tokens, hidden);
  }
  qkv.Reserve(&workspace, compute, tokens, 3 * hidden);
  context.Reserve(&workspace, compute, tokens, hidden);
  projected.Reserve(&workspace, DType::kFP32, tokens, hidden);
  intermediate.Reserve(&workspace, compute, tokens, intermediate_size);
  for (LengthGroup& g : groups) {
    for (size_t& offset : g.qkv_offset) {
      offset = workspace.Reserve(g.sequences.size() * g.length * hidden *
                                 DTypeSize(compute));
    }
  }
  workspace.Allocate();
  x.ZeroPadding(workspace, DType::kFP32, tokens, hidden);
  x_attended.ZeroPadding(workspace, DType::kFP32, tokens, hidden);
  if (bf16) {
    x_bf16.ZeroPadding(workspace, DType::kBF16, tokens, hidden);
    x_attended_bf16.ZeroPadding(workspace, DType::kBF16, tokens, hidden);
  }
  context.ZeroPadding(workspace, compute, tokens, hidden);
  intermediate.ZeroPadding(workspace, compute, tokens, intermediate_size);
  float* const x_data = workspace.At<float>(x.offset);
  float* const x_attended_data = workspace.At<float>(x_attended.offset);
  BF16* const x_bf16_data = bf16 ? workspace.At<BF16>(x_bf16.offset) : nullptr;
  BF16* const x_attended_bf16_data =
      bf16 ? workspace.At<BF16>(x_attended_bf16.offset) : nullptr;
  void* const qkv_data = workspace.At<void>(qkv.offset);
  void* const context_data = workspace.At<void>(context.offset);
  float* const projected_data = workspace.At<float>(projected.offset);
  void* const intermediate_data = workspace.At<void>(intermediate.offset);

  // SplitHeads' destinations: [query, key, value][group].
  std::vector<std::vector<void*>> qkv_heads(3);
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
      qkv_heads[part].push_back(workspace.At<void>(g.qkv_offset[part]));
    }
    g.spec = spec;
    g.spec.global_positions.clear();
    for (uint32_t p : spec.global_positions) {
      if (p < g.length) g.spec.global_positions.push_back(p);
    }
  }

  // Embeddings: word + position + token type, then LayerNorm.
  {
    const float* word = w.word_embeddings.data<float>();
    const float* position = w.position_embeddings.data<float>();
    const float* type = w.token_type_embeddings.data<float>();
    ParallelFor(tokens, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const float* wr = word + int64_t(batch.token_ids[t]) * hidden;
        const float* pr = position + positions[t] * hidden;
        const int64_t type_id =
            batch.token_type_ids.empty() ? 0 : batch.token_type_ids[t];
        const float* tr = type + type_id * hidden;
        float* o = projected_data + t * hidden;
        for (int64_t i = 0; i < hidden; ++i) o[i] = wr[i] + pr[i] + tr[i];
      }
    });
    AddLayerNorm(projected_data, nullptr, w.embeddings_norm_gamma.data<float>(),
                 w.embeddings_norm_beta.data<float>(), config.layer_norm_eps,
                 tokens, hidden, x_data, x_bf16_data);
  }

  EncoderOutput result;
  result.attention.resize(options.attention_layers.size());
  for (auto& per_layer : result.attention) per_layer.resize(num_seqs);
  result.hidden = Tensor(DType::kFP32, {tokens, hidden});
  const LinearActivation activation = config.activation == Activation::kGeluErf
                                          ? LinearActivation::kGeluErf
                                          : LinearActivation::kGeluTanh;
  std::vector<const float*> attended(groups.size());
  const FusedAttention fused_attention(FusedAttention::Coverage::kWhereFaster);

  // The groups' shapes are the same in every layer: checked once here for the
  // packed-rows path (Attend checks them again on the other path).
  for (const LengthGroup& g : groups) {
    RETURN_IF_ERROR(ValidateAttentionShapes(g.spec, g.inputs));
  }
  for (int64_t l = 0; l < num_layers; ++l) {
    const BertLayerWeights& layer = w.layers[l];
    const void* layer_input =
        bf16 ? static_cast<void*>(x_bf16_data) : static_cast<void*>(x_data);
    absl::Status s =
        layer.qkv.Apply(compute, layer_input, tokens, compute, qkv_data);
    if (!s.ok()) return s;

    const bool want_weights = !attention_slots[l].empty();
    // Where the fused kernel is the implementation Attend would pick, it
    // reads the heads from qkv and writes context directly.
    bool on_packed_rows = true;
    for (LengthGroup& g : groups) {
      g.inputs.return_weights = want_weights;
      on_packed_rows =
          on_packed_rows && fused_attention.Supports(g.spec, g.inputs);
    }
    if (on_packed_rows) {
      for (const LengthGroup& g : groups) {
        FusedSelfAttentionOnPackedRows(g.spec, compute, qkv_data, g.first_rows,
                                       g.length, heads, head_dim, context_data);
      }
    } else {
      SplitHeads(qkv_data, 3 * hidden, 0, heads, head_dim, slots, compute,
                 qkv_heads);
      for (size_t gi = 0; gi < groups.size(); ++gi) {
        LengthGroup& g = groups[gi];
        s = AttendUncheckedValues(g.spec, g.inputs, &g.out);
        if (!s.ok()) return s;
        attended[gi] = g.out.output.data<float>();
        if (want_weights) {
          const int64_t length = g.length;
          const int64_t per_seq = heads * length * length;
          for (size_t b = 0; b < g.sequences.size(); ++b) {
            Tensor map(DType::kFP32, {heads, length, length});
            std::memcpy(map.data<float>(),
                        g.out.weights.data<float>() + b * per_seq,
                        per_seq * sizeof(float));
            for (size_t slot : attention_slots[l]) {
              result.attention[slot][g.sequences[b]] = map;
            }
          }
        }
      }
      MergeHeads(attended, slots, heads, head_dim, compute, context_data);
    }

    s = layer.attention_output.Apply(compute, context_data, tokens,
                                     DType::kFP32, projected_data);
    if (!s.ok()) return s;
    AddLayerNorm(projected_data, x_data,
                 layer.attention_norm_gamma.data<float>(),
                 layer.attention_norm_beta.data<float>(), config.layer_norm_eps,
                 tokens, hidden, x_attended_data, x_attended_bf16_data);

    s = layer.intermediate.Apply(compute,
                                 bf16 ? static_cast<void*>(x_attended_bf16_data)
                                      : static_cast<void*>(x_attended_data),
                                 tokens, compute, intermediate_data,
                                 activation);
    if (!s.ok()) return s;
    s = layer.output.Apply(compute, intermediate_data, tokens, DType::kFP32,
                           projected_data);
    if (!s.ok()) return s;
    // The last layer writes the result directly.
    const bool last = l + 1 == num_layers;
    AddLayerNorm(projected_data, x_attended_data,
                 layer.output_norm_gamma.data<float>(),
                 layer.output_norm_beta.data<float>(), config.layer_norm_eps,
                 tokens, hidden, last ? result.hidden.data<float>() : x_data,
                 last ? nullptr : x_bf16_data);
  }
  return result;
}

Tensor Pool(const Tensor& hidden, absl::Span<const int64_t> offsets,
            Pooling pooling) {
  const int64_t width = hidden.dim(1);
  const int64_t num_seqs = int64_t(offsets.size()) - 1;
  Tensor pooled = Tensor::Zeros(DType::kFP32, {num_seqs, width});
  for (int64_t s = 0; s < num_seqs; ++s) {
    float* o = pooled.data<float>() + s * width;
    const float* first = hidden.data<float>() + offsets[s] * width;
    const int64_t length = offsets[s + 1] - offsets[s];
    if (length <= 0) continue;
    if (pooling == Pooling::kCls) {
      std::memcpy(o, first, width * sizeof(float));
      continue;
    }
    std::memcpy(o, first, width * sizeof(float));
    for (int64_t t = 1; t < length; ++t) {
      const float* row = first + t * width;
      for (int64_t i = 0; i < width; ++i) {
        o[i] =
            pooling == Pooling::kMean ? o[i] + row[i] : std::max(o[i], row[i]);
      }
    }
    if (pooling == Pooling::kMean) {
      for (int64_t i = 0; i < width; ++i) o[i] /= float(length);
    }
  }
  return pooled;
}

void L2NormalizeRows(Tensor* rows) {
  const int64_t width = rows->dim(1);
  for (int64_t r = 0; r < rows->dim(0); ++r) {
    float* row = rows->data<float>() + r * width;
    double squares = 0;
    for (int64_t i = 0; i < width; ++i) squares += double(row[i]) * row[i];
    if (squares == 0) continue;
    const float inv_norm = float(1.0 / std::sqrt(squares));
    for (int64_t i = 0; i < width; ++i) row[i] *= inv_norm;
  }
}

absl::StatusOr<AttentionOutputs> MultiHeadAttend(
    const BertModel& model, const MultiHeadAttendInputs& inputs) {
  const BertConfig& config = model.config;
  const int64_t hidden_size = config.hidden_size;
  if (inputs.layer < 0 || inputs.layer >= config.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("layer is ", inputs.layer,
                                                   ", expected a layer in [0, ",
                                                   config.num_layers, ")"));
  }
  auto check_states = [&](const Tensor& t, const char* field) -> absl::Status {
    if (t.dtype() != DType::kFP32 || t.rank() != 3 || t.dim(0) < 1 ||
        t.dim(1) < 1 || t.dim(2) != hidden_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".shape is [", absl::StrJoin(t.shape(), ", "),
          "], expected FP32 [batch >= 1, length >= 1, ", hidden_size, "]"));
    }
    const float* p = t.data<float>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      if (!std::isfinite(p[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, " contains NaN or Inf at element ", i));
      }
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_states(inputs.hidden, "hidden"));
  const bool self_attention = inputs.context.empty();
  const Tensor& context = self_attention ? inputs.hidden : inputs.context;
  if (!self_attention) {
    RETURN_IF_ERROR(check_states(context, "context"));
    if (context.dim(0) != inputs.hidden.dim(0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("context.shape[0] is ", context.dim(0),
                       " but hidden.shape[0] is ", inputs.hidden.dim(0)));
    }
  }
  const int64_t batch = inputs.hidden.dim(0);
  const int64_t seq = inputs.hidden.dim(1);
  const int64_t context_len = context.dim(1);
  if (!inputs.lengths.empty()) {
    if (int64_t(inputs.lengths.size()) != batch) {
      return absl::InvalidArgumentError(
          absl::StrCat("lengths has ", inputs.lengths.size(),
                       " entries, expected 0 or ", batch, " (batch)"));
    }
    for (size_t b = 0; b < inputs.lengths.size(); ++b) {
      if (inputs.lengths[b] > context_len) {
        return absl::InvalidArgumentError(absl::StrCat(
            "lengths[", b, "] is ", inputs.lengths[b], ", expected at most ",
            context_len, " (context length)"));
      }
    }
  }

  const BertLayerWeights& layer = model.weights.layers[inputs.layer];
  const int64_t heads = config.num_heads;
  const int64_t head_dim = config.head_dim();
  const int64_t query_rows = batch * seq;
  const int64_t context_rows = batch * context_len;

  Tensor hidden_rows = ActivationBuffer(DType::kFP32, query_rows, hidden_size);
  std::memcpy(hidden_rows.raw_data(), inputs.hidden.raw_data(),
              inputs.hidden.num_bytes());
  Tensor query_qkv =
      ActivationBuffer(DType::kFP32, query_rows, 3 * hidden_size);
  absl::Status s =
      layer.qkv.Apply(DType::kFP32, hidden_rows.raw_data(), query_rows,
                      DType::kFP32, query_qkv.raw_data());
  if (!s.ok()) return s;
  Tensor context_qkv = query_qkv;
  if (!self_attention) {
    Tensor context_in =
        ActivationBuffer(DType::kFP32, context_rows, hidden_size);
    std::memcpy(context_in.raw_data(), context.raw_data(), context.num_bytes());
    context_qkv = ActivationBuffer(DType::kFP32, context_rows, 3 * hidden_size);
    s = layer.qkv.Apply(DType::kFP32, context_in.raw_data(), context_rows,
                        DType::kFP32, context_qkv.raw_data());
    if (!s.ok()) return s;
  }

  AttentionInputs in;
  in.query = Tensor(DType::kFP32, {batch, heads, seq, head_dim});
  in.key = Tensor(DType::kFP32, {batch, heads, context_len, head_dim});
  in.value = Tensor(DType::kFP32, {batch, heads, context_len, head_dim});
  const std::vector<HeadSlot> query_slots =
      DenseSlots(batch, seq, heads, head_dim);
  const std::vector<HeadSlot> context_slots =
      DenseSlots(batch, context_len, heads, head_dim);
  SplitHeads(query_qkv.data<float>(), 3 * hidden_size, 0, heads, head_dim,
             query_slots, DType::kFP32, {{in.query.raw_data()}});
  SplitHeads(context_qkv.data<float>(), 3 * hidden_size, hidden_size, heads,
             head_dim, context_slots, DType::kFP32,
             {{in.key.raw_data()}, {in.value.raw_data()}});
  in.key_lengths = inputs.lengths;
  in.return_weights = inputs.return_weights;
  // hidden and context were checked above; their projections need no scan.
  AttentionOutputs attended;
  s = AttendUncheckedValues(inputs.spec, in, &attended);
  if (!s.ok()) return s;

  Tensor merged = ActivationBuffer(DType::kFP32, query_rows, hidden_size);
  MergeHeads({attended.output.data<float>()}, query_slots, heads, head_dim,
             DType::kFP32, merged.raw_data());
  Tensor projected = ActivationBuffer(DType::kFP32, query_rows, hidden_size);
  s = layer.attention_output.Apply(DType::kFP32, merged.raw_data(), query_rows,
                                   DType::kFP32, projected.raw_data());
  if (!s.ok()) return s;
  // Finite but huge hidden states can overflow FP32 in the projections or
  // the scores; such a request gets an error, never Inf or NaN.
  const float* projected_values = projected.data<float>();
  for (int64_t i = 0; i < query_rows * hidden_size; ++i) {
    if (!std::isfinite(projected_values[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          inputs.spec.scale != 0
              ? absl::StrCat("spec.scale is ", inputs.spec.scale,
                             " or hidden or context values are too large")
              : "hidden or context values are too large",
          ": layer ", inputs.layer,
          "'s attention overflowed FP32 (output element ", i,
          " is not finite); expected hidden states of moderate magnitude"));
    }
  }
  AttentionOutputs result;
  result.output = Tensor(DType::kFP32, {batch, seq, hidden_size});
  std::memcpy(result.output.raw_data(), projected.raw_data(),
              result.output.num_bytes());
  result.weights = attended.weights;
  return result;
}

}  // namespace attnserve::core
