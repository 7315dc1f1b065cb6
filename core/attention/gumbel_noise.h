#ifndef ATTNSERVE_CORE_ATTENTION_GUMBEL_NOISE_H_
#define ATTNSERVE_CORE_ATTENTION_GUMBEL_NOISE_H_

#include <cstdint>

namespace attnserve::core {

// Standard Gumbel noise for sampled HARD attention, from a counter-based
// generator: the value depends only on (seed, b, h, i, key j), so a request
// gives the same draw whatever else runs and whichever implementation runs it.
// Adding it to the logits and keeping the top_k largest draws top_k keys
// without replacement with probabilities proportional to the soft weights
// (the Gumbel-top-k trick).
float GumbelNoise(uint64_t seed, int64_t b, int64_t h, int64_t i, int64_t j);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_GUMBEL_NOISE_H_
