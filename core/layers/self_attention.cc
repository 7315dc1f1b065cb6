#include "core/layers/self_attention.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/attention/attention_list.h"
#include "core/attention/validate_attention.h"
#include "core/base/parallel.h"
#include "core/base/shape_string.h"
#include "core/base/status_macros.h"
#include "core/kernels/vector_math.h"
#include "core/layers/head_slots.h"
#include "core/layers/workspace.h"

namespace attnserve::core {
namespace {

// The fused QKV projection of `input` into batch->qkv(), with the rotary hook
// applied (in FP32).
absl::Status ProjectQkv(const PackedLinear& qkv_linear,
                        const SelfAttentionHooks& hooks, const void* input,
                        EncoderBatch* batch) {
  const DType compute = batch->compute_dtype();
  const int64_t tokens = batch->tokens();
  if (!hooks.rotary) {
    return qkv_linear.Apply(compute, input, tokens, compute, batch->qkv());
  }
  if (compute == DType::kFP32) {
    RETURN_IF_ERROR(
        qkv_linear.Apply(compute, input, tokens, compute, batch->qkv()));
    hooks.rotary(static_cast<float*>(batch->qkv()), tokens, batch->positions());
    return absl::OkStatus();
  }
  const int64_t width = qkv_linear.out_features();
  Tensor qkv = ActivationBuffer(DType::kFP32, tokens, width);
  RETURN_IF_ERROR(
      qkv_linear.Apply(compute, input, tokens, DType::kFP32, qkv.raw_data()));
  hooks.rotary(qkv.data<float>(), tokens, batch->positions());
  ConvertToBF16(qkv.data<float>(), static_cast<BF16*>(batch->qkv()),
                tokens * width);
  return absl::OkStatus();
}

}  // namespace

SelfAttentionHooks RotaryHooks(const RotaryTable& table, int64_t heads,
                               int64_t head_dim) {
  SelfAttentionHooks hooks;
  hooks.rotary = [&table, heads, head_dim](
                     float* qkv, int64_t rows,
                     absl::Span<const int32_t> positions) {
    const int64_t ld = 3 * heads * head_dim;
    ParallelFor(rows, [&](int64_t begin, int64_t end) {
      // Q and K heads are adjacent: 2 * heads heads from column 0.
      table.Apply(qkv + begin * ld, end - begin, ld, 2 * heads, head_dim,
                  positions.data() + begin);
    });
  };
  return hooks;
}

absl::Status SelfAttention(const PackedLinear& qkv, const PackedLinear& output,
                           const SelfAttentionHooks& hooks, int64_t layer,
                           const void* input, EncoderBatch* batch, float* out) {
  const DType compute = batch->compute_dtype();
  const int64_t tokens = batch->tokens();
  const int64_t heads = batch->dims().num_heads;
  const int64_t head_dim = batch->dims().head_dim();
  std::vector<LengthGroup>& groups = batch->groups();
  RETURN_IF_ERROR(ProjectQkv(qkv, hooks, input, batch));

  // Each group runs the implementation Attend would choose; where every
  // group's can read the packed rows, the heads are neither split nor merged.
  const bool want_weights = batch->WantsWeights(layer);
  std::vector<const AttentionImplementation*> chosen(groups.size());
  bool on_packed_rows = true;
  for (size_t g = 0; g < groups.size(); ++g) {
    AttentionInputs& in = groups[g].inputs;
    in.return_weights = want_weights;
    if (hooks.score_bias) {
      in.mask = hooks.score_bias(groups[g].length, groups[g].length);
    }
    chosen[g] =
        &SelectAttentionImplementation(batch->GroupAttention(layer, g), in);
    on_packed_rows = on_packed_rows && chosen[g]->packed_rows() != nullptr &&
                     in.key_lengths.empty();
  }
  if (on_packed_rows) {
    for (size_t g = 0; g < groups.size(); ++g) {
      const AttentionSpec& spec = batch->GroupAttention(layer, g);
      // A mask from the hook is checked here; the rest was checked by
      // EncoderBatch::Create.
      if (!groups[g].inputs.mask.empty()) {
        RETURN_IF_ERROR(ValidateAttentionShapes(spec, groups[g].inputs));
      }
      chosen[g]->packed_rows()->RunOnPackedRows(
          spec, compute, batch->qkv(), groups[g].first_rows, groups[g].length,
          heads, head_dim, groups[g].inputs.mask, batch->context());
    }
  } else {
    SplitHeads(batch->qkv(), 3 * heads * head_dim, 0, heads, head_dim,
               batch->slots(), compute, batch->qkv_heads());
    std::vector<const float*> attended(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
      LengthGroup& group = groups[g];
      const AttentionSpec& spec = batch->GroupAttention(layer, g);
      // A mask from the hook is checked here; the rest was checked by
      // EncoderBatch::Create.
      if (!group.inputs.mask.empty()) {
        RETURN_IF_ERROR(ValidateAttentionShapes(spec, group.inputs));
      }
      RETURN_IF_ERROR(RunAttention(*chosen[g], spec, group.inputs, &group.out));
      attended[g] = group.out.output.data<float>();
      if (want_weights) batch->KeepWeights(layer, g, group.out.weights);
    }
    MergeHeads(attended, batch->slots(), heads, head_dim, compute,
               batch->context());
  }
  return output.Apply(compute, batch->context(), tokens, DType::kFP32, out);
}

absl::StatusOr<AttentionOutputs> MultiHeadAttendLayer(
    const PackedLinear& qkv, const PackedLinear& output, int64_t heads,
    const SelfAttentionHooks& hooks, int64_t max_positions,
    const MultiHeadAttendInputs& inputs) {
  const int64_t hidden_size = qkv.in_features();
  auto check_states = [&](const Tensor& t, const char* field) -> absl::Status {
    if (t.dtype() != DType::kFP32 || t.rank() != 3 || t.dim(0) < 1 ||
        t.dim(1) < 1 || t.dim(2) != hidden_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".shape is ", ShapeString(t.shape()),
          ", expected FP32 [batch >= 1, length >= 1, ", hidden_size, "]"));
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

  if (hooks.rotary || hooks.score_bias) {
    // Positions index the hooks' tables.
    for (const auto& [field, length] :
         {std::pair{"hidden", seq}, std::pair{"context", context_len}}) {
      if (length > max_positions) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".shape[1] is ", length, ", expected at most ",
                         max_positions, " (the model's positions)"));
      }
    }
  }

  const int64_t head_dim = hidden_size / heads;
  const int64_t query_rows = batch * seq;
  const int64_t context_rows = batch * context_len;

  Tensor hidden_rows = ActivationBuffer(DType::kFP32, query_rows, hidden_size);
  std::memcpy(hidden_rows.raw_data(), inputs.hidden.raw_data(),
              inputs.hidden.num_bytes());
  Tensor query_qkv =
      ActivationBuffer(DType::kFP32, query_rows, 3 * hidden_size);
  RETURN_IF_ERROR(qkv.Apply(DType::kFP32, hidden_rows.raw_data(), query_rows,
                            DType::kFP32, query_qkv.raw_data()));
  Tensor context_qkv = query_qkv;
  if (!self_attention) {
    Tensor context_in =
        ActivationBuffer(DType::kFP32, context_rows, hidden_size);
    std::memcpy(context_in.raw_data(), context.raw_data(), context.num_bytes());
    context_qkv = ActivationBuffer(DType::kFP32, context_rows, 3 * hidden_size);
    RETURN_IF_ERROR(qkv.Apply(DType::kFP32, context_in.raw_data(), context_rows,
                              DType::kFP32, context_qkv.raw_data()));
  }

  if (hooks.rotary) {
    // Each row's position is its index in its sequence.
    auto rotate = [&](Tensor& rows, int64_t length) {
      std::vector<int32_t> positions(batch * length);
      for (size_t r = 0; r < positions.size(); ++r) {
        positions[r] = int32_t(int64_t(r) % length);
      }
      hooks.rotary(rows.data<float>(), batch * length, positions);
    };
    rotate(query_qkv, seq);
    if (!self_attention) rotate(context_qkv, context_len);
  }

  AttentionInputs in;
  if (hooks.score_bias) in.mask = hooks.score_bias(seq, context_len);
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
  RETURN_IF_ERROR(AttendUncheckedValues(inputs.spec, in, &attended));

  Tensor merged = ActivationBuffer(DType::kFP32, query_rows, hidden_size);
  MergeHeads({attended.output.data<float>()}, query_slots, heads, head_dim,
             DType::kFP32, merged.raw_data());
  Tensor projected = ActivationBuffer(DType::kFP32, query_rows, hidden_size);
  RETURN_IF_ERROR(output.Apply(DType::kFP32, merged.raw_data(), query_rows,
                               DType::kFP32, projected.raw_data()));
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
