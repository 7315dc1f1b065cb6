#ifndef ATTNSERVE_CORE_TOKENIZER_LOAD_BERT_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZER_LOAD_BERT_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tokenizer/tokenizer_files.h"
#include "core/tokenizer/wordpiece_tokenizer.h"

namespace attnserve::core {

// Loads the tokenizer of a Hugging Face model directory. Prefers
// tokenizer.json when present (model_max_length still comes from
// tokenizer_config.json when that exists); else vocab.txt +
// tokenizer_config.json (optional) + special_tokens_map.json (optional).
// NOT_FOUND when neither tokenizer.json nor vocab.txt exists; parse errors
// are INVALID_ARGUMENT naming the file and key.
absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>> LoadBertTokenizer(
    const std::string& model_dir);

// The vocab.txt route only (tests compare it with the tokenizer.json route).
absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>>
LoadBertTokenizerFromVocab(const std::string& model_dir);

// A tokenizer for an in-memory vocabulary (vocab.txt lines, id = index),
// e.g. the built-in demo model's; `config` defaults to BERT uncased.
absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>> MakeBertTokenizer(
    std::vector<std::string> vocab, const TokenizerConfigJson& config = {});

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_TOKENIZER_LOAD_BERT_TOKENIZER_H_
