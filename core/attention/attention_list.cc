#include "core/attention/attention_list.h"

#include "core/attention/banded_local_attention.h"
#include "core/attention/dense_dnnl_attention.h"
#include "core/attention/fused_attention.h"
#include "core/attention/reference_attention.h"
#include "core/attention/top_k_attention.h"

namespace attnserve::core {

const std::vector<const AttentionImplementation*>& AttentionImplementations() {
  static const auto* implementations =
      new std::vector<const AttentionImplementation*>{
          new FusedAttention(FusedAttention::Coverage::kWhereFaster),
          new DenseDnnlAttention(),
          new BandedLocalAttention(),
          new TopKAttention(),
          &ReferenceAttentionImplementation(),
      };
  return *implementations;
}

const AttentionImplementation& ReferenceAttentionImplementation() {
  static const ReferenceAttention* reference = new ReferenceAttention();
  return *reference;
}

const AttentionImplementation& SelectAttentionImplementation(
    const AttentionSpec& spec, const AttentionInputs& in) {
  for (const AttentionImplementation* impl : AttentionImplementations()) {
    if (impl->Supports(spec, in)) return *impl;
  }
  return ReferenceAttentionImplementation();
}

}  // namespace attnserve::core
