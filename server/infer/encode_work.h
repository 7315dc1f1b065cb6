#ifndef ATTNSERVE_SERVER_INFER_ENCODE_WORK_H_
#define ATTNSERVE_SERVER_INFER_ENCODE_WORK_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/base/tensor.h"
#include "core/model/encoder_model.h"
#include "server/scheduling/batch_former.h"

namespace attnserve::server {

// The sequences of one Encode call, queued on its model's scheduler. Its
// batch key is derived from `options`: only calls that run the encoder the
// same way (dtype, attention override, returned layers) share a batch.
class EncodeWork : public ScheduledRequest {
 public:
  EncodeWork(std::vector<std::vector<int32_t>> token_ids,
             core::EncodeOptions options, absl::Time deadline);
  // With token type ids, one list per sequence as long as its ids (text
  // pairs: 0 for the first segment, 1 for the second as the template says).
  EncodeWork(std::vector<std::vector<int32_t>> token_ids,
             std::vector<std::vector<int32_t>> token_type_ids,
             core::EncodeOptions options, absl::Time deadline);

  const std::vector<std::vector<int32_t>>& token_ids() const {
    return token_ids_;
  }
  // Empty, or one list per sequence.
  const std::vector<std::vector<int32_t>>& token_type_ids() const {
    return token_type_ids_;
  }
  const core::EncodeOptions& options() const { return options_; }

  // Result slots, one per sequence, written by ComputeEncodeBatch:
  //   hidden[s]: [len_s, hidden] FP32, the last layer's states
  //   attention[s][i]: [heads, len_s, len_s] FP32, layer
  //   options().attention_layers[i]
  std::vector<core::Tensor> hidden;
  std::vector<std::vector<core::Tensor>> attention;

 private:
  const std::vector<std::vector<int32_t>> token_ids_;
  const std::vector<std::vector<int32_t>> token_type_ids_;
  const core::EncodeOptions options_;
};

// The scheduler's compute function for a model: packs the batch's sequences
// end to end (every entry is an EncodeWork with one batch key), runs the
// encoder once and writes each sequence's slots.
absl::Status ComputeEncodeBatch(const core::EncoderModel& model,
                                const Batch& batch);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_INFER_ENCODE_WORK_H_
