#include "core/attention/row_attention.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/attention/attention_mask.h"
#include "core/base/parallel.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {
namespace {

constexpr int64_t kBlockQueries = 64;
constexpr int64_t kMinParallelWork = int64_t{1} << 18;
constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

// Consecutive queries [i_begin, i_end) of head bh.
struct QueryBlock {
  int64_t bh;
  int64_t i_begin, i_end;
  bool all_keys;  // candidates are every key below the block's limit
};

// dst[c * stride_c + d * stride_d] = float(src[key(c) * width + d]).
//   src: [Sk, width] of one (b, h), FP32 or BF16
void GatherKeys(const Tensor& src, int64_t bh_offset, int64_t width,
                const int64_t* keys, int64_t n, float* dst, int64_t stride_c,
                int64_t stride_d) {
  if (src.dtype() == DType::kFP32) {
    const float* base = src.data<float>() + bh_offset;
    for (int64_t c = 0; c < n; ++c) {
      const float* row = base + keys[c] * width;
      for (int64_t d = 0; d < width; ++d)
        dst[c * stride_c + d * stride_d] = row[d];
    }
  } else {
    const BF16* base = src.data<BF16>() + bh_offset;
    for (int64_t c = 0; c < n; ++c) {
      const BF16* row = base + keys[c] * width;
      for (int64_t d = 0; d < width; ++d)
        dst[c * stride_c + d * stride_d] = BF16ToFloat(row[d]);
    }
  }
}

// Per-thread working memory of one block.
struct BlockScratch {
  std::vector<int64_t>
      keys;  // [n] candidate key indices: band, then extra globals
  std::vector<float> keys_t;      // [head_dim, n]
  std::vector<float> values;      // [n, v_dim]
  std::vector<int64_t> row_keys;  // [<= n] one query's visible candidates
  std::vector<float> row_logits;  // [<= n]
};

}  // namespace

absl::Status RunRowAttention(const AttentionSpec& spec,
                             const AttentionInputs& in, RowWeightsFn weights_fn,
                             AttentionOutputs* out) {
  const int64_t batch = in.query.dim(0), heads = in.query.dim(1),
                q_len = in.query.dim(2);
  const int64_t head_dim = in.query.dim(3), k_len = in.key.dim(2),
                v_dim = in.value.dim(3);
  const int64_t offset =
      k_len - q_len;  // query i sits at key position i + offset
  const bool local = spec.scope == AttentionSpec::Scope::kLocal;
  const int64_t window_left = local ? spec.window_left : k_len;
  const int64_t window_right = local ? spec.window_right : k_len;
  const float scale = EffectiveScale(spec, head_dim);
  const float gaussian =
      local && spec.gaussian_sigma > 0
          ? 1.0f / (2.0f * spec.gaussian_sigma * spec.gaussian_sigma)
          : 0.0f;
  const AttentionMaskView mask(in.mask);

  std::vector<char> is_global(k_len, 0);
  for (uint32_t g : spec.global_positions) is_global[g] = 1;
  std::vector<int64_t> globals;
  for (int64_t j = 0; j < k_len; ++j) {
    if (is_global[j]) globals.push_back(j);
  }

  std::vector<QueryBlock> blocks;
  for (int64_t bh = 0; bh < batch * heads; ++bh) {
    int64_t begin = 0;
    for (int64_t i = 0; i < q_len; ++i) {
      const int64_t p = i + offset;
      const bool global_query = local && p >= 0 && is_global[p];
      if (global_query || i - begin == kBlockQueries) {
        if (begin < i) blocks.push_back({bh, begin, i, !local});
        begin = i;
      }
      if (global_query) {
        blocks.push_back({bh, i, i + 1, true});
        begin = i + 1;
      }
    }
    if (begin < q_len) blocks.push_back({bh, begin, q_len, !local});
  }

  out->output = Tensor::Zeros(DType::kFP32, {batch, heads, q_len, v_dim});
  if (in.return_weights)
    out->weights = Tensor::Zeros(DType::kFP32, {batch, heads, q_len, k_len});

  auto run_blocks = [&](int64_t begin, int64_t end) {
    thread_local BlockScratch scratch;
    std::vector<float> q_row(head_dim);
    for (int64_t t = begin; t < end; ++t) {
      const QueryBlock& block = blocks[t];
      const int64_t b = block.bh / heads, h = block.bh % heads;
      const int64_t key_limit =
          in.key_lengths.empty() ? k_len : in.key_lengths[b];
      const int64_t p_first = block.i_begin + offset,
                    p_last = block.i_end - 1 + offset;
      // Candidates: the band [lo, hi) all queries of the block together can
      // see, then every global key (a query sees those in the band but
      // outside its own window too; the ones inside its window it already
      // has from the band, so its row masks those duplicates out).
      int64_t lo = 0, hi = key_limit;
      if (!block.all_keys) {
        lo = std::max<int64_t>(0, p_first - window_left);
        hi = std::min(key_limit, p_last + window_right + 1);
      }
      if (spec.causal) hi = std::min(hi, p_last + 1);
      hi = std::max(hi, lo);
      std::vector<int64_t>& keys = scratch.keys;
      keys.clear();
      for (int64_t j = lo; j < hi; ++j) keys.push_back(j);
      const int64_t band = hi - lo;
      if (!block.all_keys) {
        for (int64_t g : globals) {
          if (g < key_limit && (!spec.causal || g <= p_last)) {
            keys.push_back(g);
          }
        }
      }
      const int64_t n = static_cast<int64_t>(keys.size());
      const int64_t extras = n - band;
      scratch.keys_t.resize(head_dim * n);
      scratch.values.resize(n * v_dim);
      GatherKeys(in.key, block.bh * k_len * head_dim, head_dim, keys.data(), n,
                 scratch.keys_t.data(), 1, n);
      GatherKeys(in.value, block.bh * k_len * v_dim, v_dim, keys.data(), n,
                 scratch.values.data(), v_dim, 1);
      scratch.row_keys.resize(n);
      scratch.row_logits.resize(n);

      for (int64_t i = block.i_begin; i < block.i_end; ++i) {
        const int64_t p = i + offset;
        GatherKeys(in.query, block.bh * q_len * head_dim, head_dim, &i, 1,
                   q_row.data(), 0, 1);
        // This query's own part of the band: [row_lo, row_hi).
        int64_t row_lo = lo, row_hi = hi;
        if (!block.all_keys) {
          row_lo = std::max(lo, p - window_left);
          row_hi = std::min(hi, p + window_right + 1);
        }
        if (spec.causal) row_hi = std::min(row_hi, p + 1);
        row_hi = std::max(row_hi, row_lo);
        const int64_t row_band = row_hi - row_lo;
        const int64_t row_n = row_band + extras;
        float* logits = scratch.row_logits.data();
        int64_t* row_keys = scratch.row_keys.data();
        ScaledDotColumns(q_row.data(), head_dim,
                         scratch.keys_t.data() + (row_lo - lo), n, row_band,
                         scale, logits);
        ScaledDotColumns(q_row.data(), head_dim, scratch.keys_t.data() + band,
                         n, extras, scale, logits + row_band);
        for (int64_t c = 0; c < row_band; ++c) row_keys[c] = row_lo + c;
        for (int64_t c = 0; c < extras; ++c)
          row_keys[row_band + c] = keys[band + c];
        const float* mask_row = mask.present() ? mask.Row(b, h, i) : nullptr;
        if (mask_row != nullptr) {
          ScaleAndAddBias(logits, row_band, 1.0f,
                          mask_row + row_lo * mask.key_stride(),
                          mask.key_stride());
        }
        for (int64_t c = row_band; c < row_n; ++c) {
          const int64_t j = row_keys[c];
          if ((j >= row_lo && j < row_hi) || (spec.causal && j > p)) {
            logits[c] = kMinusInf;
          } else if (mask_row != nullptr) {
            logits[c] += mask_row[j * mask.key_stride()];
          }
        }
        if (gaussian != 0) {
          for (int64_t c = 0; c < row_n; ++c) {
            // gaussian is Inf for a tiny sigma: only the key at p keeps its
            // logit (0 * Inf would be NaN).
            const float distance = static_cast<float>(row_keys[c] - p);
            if (distance != 0) logits[c] -= distance * distance * gaussian;
          }
        }
        weights_fn(b, h, i, row_keys, logits, row_n);
        float* out_row =
            out->output.data<float>() + (block.bh * q_len + i) * v_dim;
        AccumulateWeightedRows(logits, row_band,
                               scratch.values.data() + (row_lo - lo) * v_dim,
                               v_dim, out_row);
        AccumulateWeightedRows(logits + row_band, extras,
                               scratch.values.data() + band * v_dim, v_dim,
                               out_row);
        if (in.return_weights) {
          float* w_row =
              out->weights.data<float>() + (block.bh * q_len + i) * k_len;
          for (int64_t c = 0; c < row_n; ++c) {
            if (logits[c] != 0)
              w_row[row_keys[c]] = logits[c];  // 0: masked or a duplicate
          }
        }
      }
    }
  };
  // Rough work estimate (multiply-adds); waking the thread team costs more
  // than a small problem.
  const int64_t reach =
      local ? std::min<int64_t>(k_len, window_left + window_right + 1 +
                                           int64_t(globals.size()))
            : k_len;
  const int64_t work = batch * heads * q_len * reach * (head_dim + v_dim);
  if (work < kMinParallelWork) {
    run_blocks(0, static_cast<int64_t>(blocks.size()));
  } else {
    ParallelFor(static_cast<int64_t>(blocks.size()), run_blocks);
  }
  return absl::OkStatus();
}

}  // namespace attnserve::core
