#ifndef ATTNSERVE_CORE_MODEL_POOLING_TYPE_H_
#define ATTNSERVE_CORE_MODEL_POOLING_TYPE_H_

#include "absl/strings/string_view.h"

namespace attnserve::core {

// Sentence-embedding pooling over a sequence's token states: part of a
// model's description (ModelInfo::default_pooling) and of a request; the
// pooling itself is layers/pooling.h's Pool.
// kLast: the last token of the sequence (decoder embedders).
enum class Pooling { kCls, kMean, kMax, kLast };

// "CLS", "MEAN", "MAX", "LAST".
absl::string_view PoolingName(Pooling pooling);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODEL_POOLING_TYPE_H_
