#include "core/model/pooling_type.h"

namespace attnserve::core {

absl::string_view PoolingName(Pooling pooling) {
  switch (pooling) {
    case Pooling::kCls:
      return "CLS";
    case Pooling::kMean:
      return "MEAN";
    case Pooling::kMax:
      return "MAX";
    case Pooling::kLast:
      return "LAST";
  }
  return "?";
}

}  // namespace attnserve::core
