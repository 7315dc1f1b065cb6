#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_WORDPIECE_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_WORDPIECE_H_

#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"

namespace attnserve::core::tokenizers {

// HF's wordpiece::cleanup (also transformers' clean_up_tokenization): " ."
// -> ".", " ?", " !", " ,", " ' " -> "'", " n't", " 'm", " do not" ->
// " don't", " 's", " 've", " 're".
std::string CleanUpTokenization(std::string text);

// WordPiece: tokens after the first lose `prefix` or get a leading space;
// `cleanup` applies CleanUpTokenization to each.
class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  std::string prefix_;
  bool cleanup_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_WORDPIECE_H_
