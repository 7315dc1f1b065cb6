#include "core/bert/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/layer_norm.h"
#include "core/parallel.h"
#include "core/vector_math.h"

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

// src: [*, src_stride] FP32 rows; src_row[b * seq + i] is the row of token i
// of batch item b. Copies columns col0 + h * head_dim + [0, head_dim) into
// dst: [batch, heads, seq, head_dim] (FP32 or BF16).
void SplitHeads(const float* src, int64_t src_stride, int64_t col0,
                const std::vector<int64_t>& src_row, Tensor* dst) {
  const int64_t heads = dst->dim(1), seq = dst->dim(2), head_dim = dst->dim(3);
  const bool bf16 = dst->dtype() == DType::kBF16;
  ParallelFor(int64_t(src_row.size()), [&](int64_t begin, int64_t end) {
    for (int64_t bi = begin; bi < end; ++bi) {
      const int64_t b = bi / seq, i = bi % seq;
      for (int64_t h = 0; h < heads; ++h) {
        const float* s = src + src_row[bi] * src_stride + col0 + h * head_dim;
        const int64_t d = ((b * heads + h) * seq + i) * head_dim;
        if (bf16) {
          ConvertToBF16(s, dst->data<BF16>() + d, head_dim);
        } else {
          std::memcpy(dst->data<float>() + d, s, head_dim * sizeof(float));
        }
      }
    }
  });
}

// src: [batch, heads, seq, head_dim]; writes token i of item b, head h to
// dst row dst_row[b * seq + i], columns h * head_dim + [0, head_dim), of a
// [*, heads * head_dim] buffer of src's dtype.
void MergeHeads(const Tensor& src, const std::vector<int64_t>& dst_row,
                void* dst) {
  const int64_t heads = src.dim(1), seq = src.dim(2), head_dim = src.dim(3);
  const size_t element = DTypeSize(src.dtype());
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(dst);
  ParallelFor(int64_t(dst_row.size()), [&](int64_t begin, int64_t end) {
    for (int64_t bi = begin; bi < end; ++bi) {
      const int64_t b = bi / seq, i = bi % seq;
      for (int64_t h = 0; h < heads; ++h) {
        std::memcpy(
            d + (dst_row[bi] * heads * head_dim + h * head_dim) * element,
            s + (((b * heads + h) * seq + i) * head_dim) * element,
            head_dim * element);
      }
    }
  });
}

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
  if (absl::Status s = ValidateBatch(config, batch); !s.ok()) return s;
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
  const BertWeights& w = model.weights;

  // Token t's position within its sequence.
  std::vector<int64_t> positions(tokens);
  for (int64_t s = 0; s < num_seqs; ++s) {
    for (int64_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      positions[t] = t - batch.offsets[s];
    }
  }
  const AttentionSpec spec = options.attention.value_or(AttentionSpec());
  // Sequences grouped by length: each group is one attention call, no
  // padding. Their query, key and value buffers are reused by every layer.
  struct LengthGroup {
    std::vector<int64_t> sequences;
    std::vector<int64_t> rows;  // rows[b * length + i]: token i of sequences[b]
    AttentionInputs inputs;
    // The layers' attention; LOCAL global positions past the end of these
    // sequences are dropped (those tokens do not exist in them).
    AttentionSpec spec;
  };
  std::map<int64_t, LengthGroup> groups;
  for (int64_t s = 0; s < num_seqs; ++s) {
    LengthGroup& g = groups[batch.offsets[s + 1] - batch.offsets[s]];
    g.sequences.push_back(s);
    for (int64_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
      g.rows.push_back(t);
    }
  }
  for (auto& [length, g] : groups) {
    const std::vector<int64_t> shape = {int64_t(g.sequences.size()), heads,
                                        length, head_dim};
    g.inputs.query = Tensor(compute, shape);
    g.inputs.key = Tensor(compute, shape);
    g.inputs.value = Tensor(compute, shape);
    g.inputs.compute_dtype = compute;
    g.inputs.output_dtype = compute;
    g.spec = spec;
    g.spec.global_positions.clear();
    for (uint32_t p : spec.global_positions) {
      if (p < length) g.spec.global_positions.push_back(p);
    }
  }

  Tensor x =
      ActivationBuffer(DType::kFP32, tokens, hidden);  // layer input / output
  Tensor x_attended =
      ActivationBuffer(DType::kFP32, tokens, hidden);  // after attention block
  Tensor x_bf16, x_attended_bf16;
  if (bf16) {
    x_bf16 = ActivationBuffer(DType::kBF16, tokens, hidden);
    x_attended_bf16 = ActivationBuffer(DType::kBF16, tokens, hidden);
  }
  Tensor qkv = ActivationBuffer(DType::kFP32, tokens, 3 * hidden);
  Tensor context = ActivationBuffer(compute, tokens, hidden);
  Tensor projected = ActivationBuffer(DType::kFP32, tokens, hidden);
  Tensor intermediate =
      ActivationBuffer(compute, tokens, config.intermediate_size);

  // Embeddings: word + position + token type, then LayerNorm.
  {
    const float* word = w.word_embeddings.data<float>();
    const float* position = w.position_embeddings.data<float>();
    const float* type = w.token_type_embeddings.data<float>();
    float* sum = projected.data<float>();
    ParallelFor(tokens, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const float* wr = word + int64_t(batch.token_ids[t]) * hidden;
        const float* pr = position + positions[t] * hidden;
        const int64_t type_id =
            batch.token_type_ids.empty() ? 0 : batch.token_type_ids[t];
        const float* tr = type + type_id * hidden;
        float* o = sum + t * hidden;
        for (int64_t i = 0; i < hidden; ++i) o[i] = wr[i] + pr[i] + tr[i];
      }
    });
    AddLayerNorm(sum, nullptr, w.embeddings_norm_gamma.data<float>(),
                 w.embeddings_norm_beta.data<float>(), config.layer_norm_eps,
                 tokens, hidden, x.data<float>(),
                 bf16 ? x_bf16.data<BF16>() : nullptr);
  }

  EncoderOutput result;
  result.attention.resize(options.attention_layers.size());
  for (auto& per_layer : result.attention) per_layer.resize(num_seqs);
  const LinearActivation activation = config.activation == Activation::kGeluErf
                                          ? LinearActivation::kGeluErf
                                          : LinearActivation::kGeluTanh;

  for (int64_t l = 0; l < num_layers; ++l) {
    const BertLayerWeights& layer = w.layers[l];
    const void* layer_input = bf16 ? x_bf16.raw_data() : x.raw_data();
    absl::Status s = layer.qkv.Apply(compute, layer_input, tokens, DType::kFP32,
                                     qkv.raw_data());
    if (!s.ok()) return s;

    const bool want_weights = !attention_slots[l].empty();
    for (auto& [length, g] : groups) {
      AttentionInputs& in = g.inputs;
      SplitHeads(qkv.data<float>(), 3 * hidden, 0, g.rows, &in.query);
      SplitHeads(qkv.data<float>(), 3 * hidden, hidden, g.rows, &in.key);
      SplitHeads(qkv.data<float>(), 3 * hidden, 2 * hidden, g.rows, &in.value);
      in.return_weights = want_weights;
      AttentionOutputs out;
      s = AttendUncheckedValues(g.spec, in, &out);
      if (!s.ok()) return s;
      MergeHeads(out.output, g.rows, context.raw_data());
      if (want_weights) {
        const int64_t per_seq = heads * length * length;
        for (size_t b = 0; b < g.sequences.size(); ++b) {
          Tensor map(DType::kFP32, {heads, length, length});
          std::memcpy(map.data<float>(),
                      out.weights.data<float>() + b * per_seq,
                      per_seq * sizeof(float));
          for (size_t slot : attention_slots[l]) {
            result.attention[slot][g.sequences[b]] = map;
          }
        }
      }
    }

    s = layer.attention_output.Apply(compute, context.raw_data(), tokens,
                                     DType::kFP32, projected.raw_data());
    if (!s.ok()) return s;
    AddLayerNorm(projected.data<float>(), x.data<float>(),
                 layer.attention_norm_gamma.data<float>(),
                 layer.attention_norm_beta.data<float>(), config.layer_norm_eps,
                 tokens, hidden, x_attended.data<float>(),
                 bf16 ? x_attended_bf16.data<BF16>() : nullptr);

    s = layer.intermediate.Apply(
        compute, bf16 ? x_attended_bf16.raw_data() : x_attended.raw_data(),
        tokens, compute, intermediate.raw_data(), activation);
    if (!s.ok()) return s;
    s = layer.output.Apply(compute, intermediate.raw_data(), tokens,
                           DType::kFP32, projected.raw_data());
    if (!s.ok()) return s;
    AddLayerNorm(projected.data<float>(), x_attended.data<float>(),
                 layer.output_norm_gamma.data<float>(),
                 layer.output_norm_beta.data<float>(), config.layer_norm_eps,
                 tokens, hidden, x.data<float>(),
                 bf16 ? x_bf16.data<BF16>() : nullptr);
  }

  result.hidden = Tensor(DType::kFP32, {tokens, hidden});
  std::memcpy(result.hidden.data<float>(), x.data<float>(),
              result.hidden.num_bytes());
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
  if (absl::Status s = check_states(inputs.hidden, "hidden"); !s.ok()) return s;
  const bool self_attention = inputs.context.empty();
  const Tensor& context = self_attention ? inputs.hidden : inputs.context;
  if (!self_attention) {
    if (absl::Status s = check_states(context, "context"); !s.ok()) return s;
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

  std::vector<int64_t> query_row(query_rows), context_row(context_rows);
  for (int64_t i = 0; i < query_rows; ++i) query_row[i] = i;
  for (int64_t i = 0; i < context_rows; ++i) context_row[i] = i;
  AttentionInputs in;
  in.query = Tensor(DType::kFP32, {batch, heads, seq, head_dim});
  in.key = Tensor(DType::kFP32, {batch, heads, context_len, head_dim});
  in.value = Tensor(DType::kFP32, {batch, heads, context_len, head_dim});
  SplitHeads(query_qkv.data<float>(), 3 * hidden_size, 0, query_row, &in.query);
  SplitHeads(context_qkv.data<float>(), 3 * hidden_size, hidden_size,
             context_row, &in.key);
  SplitHeads(context_qkv.data<float>(), 3 * hidden_size, 2 * hidden_size,
             context_row, &in.value);
  in.key_lengths = inputs.lengths;
  in.return_weights = inputs.return_weights;
  // hidden and context were checked above; their projections need no scan.
  AttentionOutputs attended;
  s = AttendUncheckedValues(inputs.spec, in, &attended);
  if (!s.ok()) return s;

  Tensor merged = ActivationBuffer(DType::kFP32, query_rows, hidden_size);
  MergeHeads(attended.output, query_row, merged.raw_data());
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
          "hidden or context values are too large: layer ", inputs.layer,
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
