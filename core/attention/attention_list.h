#ifndef ATTNSERVE_CORE_ATTENTION_ATTENTION_LIST_H_
#define ATTNSERVE_CORE_ATTENTION_ATTENTION_LIST_H_

#include <vector>

#include "core/attention/attention.h"

namespace attnserve::core {

// The ordered implementation list Attend() walks: the first whose Supports()
// accepts the case runs. The reference, which handles every case, is last.
// { FusedAttention (where faster), DenseDnnlAttention, BandedLocalAttention,
//   TopKAttention, ReferenceAttention }
const std::vector<const AttentionImplementation*>& AttentionImplementations();
const AttentionImplementation& ReferenceAttentionImplementation();

// The implementation Attend runs for validated inputs: the first in
// AttentionImplementations() whose Supports() accepts them (never null: the
// reference accepts everything).
const AttentionImplementation& SelectAttentionImplementation(
    const AttentionSpec& spec, const AttentionInputs& in);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_ATTENTION_LIST_H_
