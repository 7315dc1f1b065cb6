#ifndef ATTNSERVE_CORE_TOKENIZER_MODELS_WORDPIECE_H_
#define ATTNSERVE_CORE_TOKENIZER_MODELS_WORDPIECE_H_

// WordPiece (tokenizer.json `"model": {"type": "WordPiece", ...}` or a
// vocab.txt), as HF tokenizers' models::wordpiece: greedy longest match
// first from the start of the word, continuation pieces prefixed with
// continuing_subword_prefix; a word longer than max_input_chars_per_word
// characters, or one that cannot be covered, is the single unk_token.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/tokenizer/models/model.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {

class WordPiece final : public Model {
 public:
  struct Options {
    std::string unk_token = "[UNK]";
    std::string continuing_subword_prefix = "##";
    size_t max_input_chars_per_word = 100;
  };

  // `model`: tokenizer.json's "model" object; errors name `path` and the key.
  static absl::StatusOr<std::unique_ptr<WordPiece>> FromJson(
      const nlohmann::json& model, absl::string_view path = "model");
  // vocab[id] is the piece with that id (vocab.txt order). A piece listed
  // twice maps to its last id, as HF's WordPiece::read_file. INVALID_ARGUMENT
  // when unk_token is not in the vocabulary.
  static absl::StatusOr<std::unique_ptr<WordPiece>> FromVocab(
      std::vector<std::string> vocab, Options options);

  std::string_view type() const override { return "WordPiece"; }
  absl::Status Tokenize(std::string_view word,
                        std::vector<ModelToken>* out) const override;
  std::optional<int32_t> TokenToId(std::string_view token) const override;
  std::optional<std::string_view> IdToToken(int32_t id) const override;
  size_t VocabSize() const override { return id_to_token_.size(); }

  const Options& options() const { return options_; }

 private:
  WordPiece() = default;
  absl::Status Finish();

  Options options_;
  std::vector<std::string> id_to_token_;  // "" where no piece has the id
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  size_t max_piece_chars_ = 0;  // longest piece, in code points
  int32_t unk_id_ = 0;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_MODELS_WORDPIECE_H_
