#ifndef ATTNSERVE_CORE_MODELS_DEMO_DEMO_MODEL_H_
#define ATTNSERVE_CORE_MODELS_DEMO_DEMO_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/models/bert/bert_model.h"

namespace attnserve::core {

// The built-in `--model demo`: a small BERT (hidden 128, 2 layers, 4 heads,
// intermediate 512, 512 positions) with RANDOM weights from a fixed seed. It
// is for trying the API and for tests: its embeddings carry no meaning.
struct DemoModel {
  std::shared_ptr<const BertModel> model;
  // vocab.txt lines (one WordPiece token per line, id = line index):
  // [PAD] [UNK] [CLS] [SEP] [MASK], punctuation, digits, letters, "##" letters,
  // common suffixes and a few hundred lowercase English words.
  std::vector<std::string> vocab;
};

// Deterministic: every call returns the same weights and vocabulary.
absl::StatusOr<DemoModel> MakeDemoModel();

// A model of any BERT shape with random weights from `seed` (LayerNorm weights
// 1, biases 0, everything else uniform with mean 0 and standard deviation 0.02,
// the scale of BERT's initializer_range), default pooling MEAN with
// normalisation. For the demo model and benchmarks.
absl::StatusOr<std::shared_ptr<const BertModel>> MakeRandomBertModel(
    const BertConfig& config, uint64_t seed);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_MODELS_DEMO_DEMO_MODEL_H_
