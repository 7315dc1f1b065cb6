#include "core/attention/reference_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/attention/gumbel_noise.h"

namespace attnserve::core {
namespace {

struct Candidate {
  int64_t key;
  double logit;
  float rank_score;  // what HARD ranks by: the logit, plus Gumbel noise when
                     // sampling
};

}  // namespace

absl::Status ReferenceAttention::Run(const AttentionSpec& spec,
                                     const AttentionInputs& in,
                                     AttentionOutputs* out) const {
  const int64_t batch = in.query.dim(0), heads = in.query.dim(1),
                q_len = in.query.dim(2);
  const int64_t head_dim = in.query.dim(3), k_len = in.key.dim(2),
                v_dim = in.value.dim(3);
  const bool local = spec.scope == AttentionSpec::Scope::kLocal;
  const bool hard = spec.weighting == AttentionSpec::Weighting::kHard;
  const double scale = EffectiveScale(spec, head_dim);
  const double sigma = spec.gaussian_sigma;

  // Mask index for (b, h, i, j): numpy broadcasting after left-padding to
  // rank 4.
  int64_t mask_dims[4] = {1, 1, 1, 1};
  for (int d = 0; d < in.mask.rank(); ++d)
    mask_dims[4 - in.mask.rank() + d] = in.mask.dim(d);
  auto mask_at = [&](int64_t b, int64_t h, int64_t i, int64_t j) {
    const int64_t index[4] = {b, h, i, j};
    int64_t flat = 0;
    for (int d = 0; d < 4; ++d)
      flat = flat * mask_dims[d] + (mask_dims[d] == 1 ? 0 : index[d]);
    return static_cast<double>(in.mask.GetFloat(flat));
  };
  auto is_global = [&](int64_t position) {
    return std::find(spec.global_positions.begin(), spec.global_positions.end(),
                     position) != spec.global_positions.end();
  };

  out->output = Tensor::Zeros(DType::kFP32, {batch, heads, q_len, v_dim});
  if (in.return_weights)
    out->weights = Tensor::Zeros(DType::kFP32, {batch, heads, q_len, k_len});

  std::vector<Candidate> visible;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t key_limit =
        in.key_lengths.empty() ? k_len : in.key_lengths[b];
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t bh = b * heads + h;
      for (int64_t i = 0; i < q_len; ++i) {
        const int64_t p = i + (k_len - q_len);
        const bool global_query = local && is_global(p);
        const int64_t q_offset = (bh * q_len + i) * head_dim;
        visible.clear();
        for (int64_t j = 0; j < key_limit; ++j) {
          if (spec.causal && j > p) continue;
          if (local && !global_query && !is_global(j) &&
              (j < p - int64_t{spec.window_left} ||
               j > p + int64_t{spec.window_right})) {
            continue;
          }
          double dot = 0;
          const int64_t k_offset = (bh * k_len + j) * head_dim;
          for (int64_t d = 0; d < head_dim; ++d) {
            dot += double{in.query.GetFloat(q_offset + d)} *
                   in.key.GetFloat(k_offset + d);
          }
          double logit = scale * dot;
          if (!in.mask.empty()) {
            const double m = mask_at(b, h, i, j);
            if (m == -std::numeric_limits<double>::infinity()) continue;
            logit += m;
          }
          if (local && sigma > 0)
            logit -= double(j - p) * double(j - p) / (2 * sigma * sigma);
          float rank_score = static_cast<float>(logit);
          if (hard && spec.sample)
            rank_score += GumbelNoise(spec.seed, b, h, i, j);
          visible.push_back({j, logit, rank_score});
        }
        if (hard) {
          // Highest first; equal scores keep the lower key index.
          std::stable_sort(visible.begin(), visible.end(),
                           [&](const Candidate& x, const Candidate& y) {
                             return spec.sample ? x.rank_score > y.rank_score
                                                : x.logit > y.logit;
                           });
          if (visible.size() > spec.top_k) visible.resize(spec.top_k);
        }
        if (visible.empty())
          continue;  // sees no key: output and weights stay 0
        double max_logit = -std::numeric_limits<double>::infinity();
        for (const Candidate& c : visible)
          max_logit = std::max(max_logit, c.logit);
        double sum = 0;
        for (const Candidate& c : visible) sum += std::exp(c.logit - max_logit);
        std::vector<double> acc(v_dim, 0.0);
        for (const Candidate& c : visible) {
          const double w = std::exp(c.logit - max_logit) / sum;
          const int64_t v_offset = (bh * k_len + c.key) * v_dim;
          for (int64_t d = 0; d < v_dim; ++d)
            acc[d] += w * in.value.GetFloat(v_offset + d);
          if (in.return_weights) {
            out->weights.data<float>()[(bh * q_len + i) * k_len + c.key] =
                static_cast<float>(w);
          }
        }
        float* o = out->output.data<float>() + (bh * q_len + i) * v_dim;
        for (int64_t d = 0; d < v_dim; ++d) o[d] = static_cast<float>(acc[d]);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace attnserve::core
