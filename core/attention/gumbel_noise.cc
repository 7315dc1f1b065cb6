#include "core/attention/gumbel_noise.h"

#include <cmath>

namespace attnserve::core {
namespace {

// SplitMix64's finaliser: a bijective mix with good avalanche.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

float GumbelNoise(uint64_t seed, int64_t b, int64_t h, int64_t i, int64_t j) {
  uint64_t x = Mix(seed);
  x = Mix(x ^ static_cast<uint64_t>(b));
  x = Mix(x ^ static_cast<uint64_t>(h));
  x = Mix(x ^ static_cast<uint64_t>(i));
  x = Mix(x ^ static_cast<uint64_t>(j));
  // 53 random bits -> u uniform in (0, 1), never 0 or 1.
  const double u = (static_cast<double>(x >> 11) + 0.5) * 0x1.0p-53;
  return static_cast<float>(-std::log(-std::log(u)));
}

}  // namespace attnserve::core
