#ifndef ATTNSERVE_CORE_TOKENIZER_MODELS_MODEL_H_
#define ATTNSERVE_CORE_TOKENIZER_MODELS_MODEL_H_

// The "model" section of a tokenizer.json (HF tokenizers' `Model` trait): it
// cuts one pre-tokenized, normalized word into vocabulary pieces. WordPiece,
// BPE and Unigram implement it; the pipeline around it (normalizers,
// pre-tokenizers, added tokens, post-processors) is shared.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace attnserve::core::tokenizers {

// One piece of a word.
struct ModelToken {
  int32_t id = 0;
  std::string value;  // the vocabulary piece ("##ing", "Ġthe", "▁de", "<0x0A>")
  // UTF-8 byte offsets [start, end) of the piece within the word passed to
  // Tokenize (HF's Token::offsets).
  size_t start = 0;
  size_t end = 0;
};

// Immutable after construction; every method is const and thread-safe.
class Model {
 public:
  virtual ~Model() = default;

  // "WordPiece", "BPE" or "Unigram" (tokenizer.json's model.type).
  virtual std::string_view type() const = 0;

  // word: one split of the pre-tokenizer, already normalized; valid UTF-8.
  // Appends its pieces to `out` in order (HF's Model::tokenize).
  virtual absl::Status Tokenize(std::string_view word,
                                std::vector<ModelToken>* out) const = 0;

  virtual std::optional<int32_t> TokenToId(std::string_view token) const = 0;
  virtual std::optional<std::string_view> IdToToken(int32_t id) const = 0;
  // Ids run from 0 to VocabSize() - 1 (added tokens may extend past it).
  virtual size_t VocabSize() const = 0;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_MODELS_MODEL_H_
