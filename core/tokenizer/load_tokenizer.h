#ifndef ATTNSERVE_CORE_TOKENIZER_LOAD_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZER_LOAD_TOKENIZER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/tokenizer/tokenizer.h"

namespace attnserve::core::tokenizers {

// Loads the tokenizer of a Hugging Face model directory: tokenizer.json when
// present (tokenizer_config.json adds model_max_length and
// clean_up_tokenization_spaces), else vocab.txt + tokenizer_config.json +
// special_tokens_map.json (both optional) as a BERT WordPiece pipeline.
// NOT_FOUND when neither tokenizer.json nor vocab.txt exists; other errors
// are INVALID_ARGUMENT naming the directory, the file and the JSON path.
absl::StatusOr<std::shared_ptr<const Tokenizer>> LoadTokenizer(
    const std::string& model_dir);

// The vocab.txt route only (tests compare it with the tokenizer.json route).
absl::StatusOr<std::shared_ptr<const Tokenizer>> LoadTokenizerFromVocab(
    const std::string& model_dir);

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_LOAD_TOKENIZER_H_
