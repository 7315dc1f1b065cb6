#include "core/attention/top_k_attention.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/attention/gumbel_noise.h"
#include "core/attention/row_attention.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {
namespace {

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

struct Ranked {
  float score;  // logit, plus Gumbel noise when sampling
  int64_t key;
  int64_t column;
};

}  // namespace

bool TopKAttention::Supports(const AttentionSpec& spec,
                             const AttentionInputs&) const {
  return spec.weighting == AttentionSpec::Weighting::kHard;
}

absl::Status TopKAttention::Run(const AttentionSpec& spec,
                                const AttentionInputs& in,
                                AttentionOutputs* out) const {
  const int64_t top_k = spec.top_k;
  return RunRowAttention(
      spec, in,
      [&](int64_t b, int64_t h, int64_t i, const int64_t* keys, float* logits,
          int64_t n) {
        thread_local std::vector<Ranked> ranked;
        ranked.clear();
        for (int64_t c = 0; c < n; ++c) {
          if (logits[c] == kMinusInf) continue;
          const float score =
              spec.sample ? logits[c] + GumbelNoise(spec.seed, b, h, i, keys[c])
                          : logits[c];
          ranked.push_back({score, keys[c], c});
        }
        if (static_cast<int64_t>(ranked.size()) > top_k) {
          // Highest first; equal scores: the lower key index wins.
          std::nth_element(ranked.begin(), ranked.begin() + (top_k - 1),
                           ranked.end(), [](const Ranked& x, const Ranked& y) {
                             return x.score > y.score ||
                                    (x.score == y.score && x.key < y.key);
                           });
          for (auto it = ranked.begin() + top_k; it != ranked.end(); ++it) {
            logits[it->column] = kMinusInf;
          }
        }
        SoftmaxInPlace(logits, n);
      },
      out);
}

}  // namespace attnserve::core
