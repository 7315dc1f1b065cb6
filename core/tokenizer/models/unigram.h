#ifndef ATTNSERVE_CORE_TOKENIZER_MODELS_UNIGRAM_H_
#define ATTNSERVE_CORE_TOKENIZER_MODELS_UNIGRAM_H_

// The Unigram language model (tokenizer.json `"model": {"type": "Unigram",
// ...}`, sentencepiece's model), as HF tokenizers' Rust
// `models::unigram::Unigram` encodes (the reference; read from
// tokenizers/src/models/unigram/{model,trie,serialization}.rs):
//  - Viterbi: the segmentation of the word into vocabulary pieces with the
//    highest sum of scores; at each character where no piece is exactly that
//    one character, an unknown node of score (min score - 10) covers it
//    (sentencepiece's kUnkPenalty). Ties keep the first path found: of the
//    pieces ending at a position, the one starting leftmost;
//  - consecutive unknown nodes (and pieces whose id is unk_id) are fused
//    into one piece spelled as the text they cover, as HF does (its
//    fuse_unk is always on);
//  - a fused piece that is not in the vocabulary becomes its <0xNN> byte
//    pieces when byte_fallback is on and all exist (each spanning the whole
//    piece, as in HF), else unk_id; no unk_id then fails.
// Piece values are the text they cover (an unknown's value is that text, not
// "<unk>"), as HF's Token::value. Offsets are byte offsets within the word.
// Immutable after FromJson(); every method is const and thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer/models/model.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {

class Unigram final : public Model {
 public:
  // `model` is tokenizer.json's "model" object ({"vocab": [[piece, score],
  // ...], "unk_id": id or null, "byte_fallback": bool}); `path` its JSON path
  // for error messages. Fails (INVALID_ARGUMENT naming the field) on a wrong
  // type, an unk_id outside the vocabulary, or an empty vocabulary with an
  // unk_id.
  static absl::StatusOr<std::unique_ptr<Unigram>> FromJson(
      const nlohmann::json& model, absl::string_view path = "model");

  std::string_view type() const override { return "Unigram"; }
  absl::Status Tokenize(std::string_view word,
                        std::vector<ModelToken>* out) const override;
  std::optional<int32_t> TokenToId(std::string_view token) const override;
  std::optional<std::string_view> IdToToken(int32_t id) const override;
  size_t VocabSize() const override { return pieces_.size(); }

  std::optional<int32_t> unk_id() const { return unk_id_; }
  bool byte_fallback() const { return byte_fallback_; }

 private:
  // A byte trie over the pieces, flattened: node 0 is the root; a node's
  // children are edges_[first_edge, first_edge + num_edges), sorted by byte.
  struct TrieNode {
    uint32_t first_edge = 0;
    uint32_t num_edges = 0;
    int32_t id = -1;  // the piece ending here (its id in token_to_id_), or -1
  };
  struct TrieEdge {
    unsigned char byte;
    uint32_t child;
  };
  // One piece of the best path: bytes [start, end) of the word.
  struct Span {
    size_t start;
    size_t end;
    int32_t id;
    bool unknown;  // an unknown node, or a piece whose id is unk_id
  };

  Unigram() = default;
  void BuildTrie();
  // The child of `node` by `byte`, or -1.
  int64_t Child(uint32_t node, unsigned char byte) const;
  // HF's encode_optimized: the best path, unknowns fused.
  absl::Status BestPath(absl::string_view word, std::vector<Span>* spans) const;

  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;  // last id wins
  std::vector<TrieNode> nodes_;
  std::vector<TrieEdge> edges_;
  uint32_t root_children_[256] = {};  // 0: none (the root is never a child)
  std::optional<int32_t> unk_id_;
  double unk_score_ = 0;
  bool byte_fallback_ = false;
  int32_t byte_ids_[256] = {};  // ids of <0x00> ... <0xFF>, -1 where absent
  std::string path_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_MODELS_UNIGRAM_H_
