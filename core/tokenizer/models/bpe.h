#ifndef ATTNSERVE_CORE_TOKENIZER_MODELS_BPE_H_
#define ATTNSERVE_CORE_TOKENIZER_MODELS_BPE_H_

// Byte-pair encoding (tokenizer.json `"model": {"type": "BPE", ...}`), as HF
// tokenizers' Rust `models::bpe::BPE` (the reference; read from
// tokenizers/src/models/bpe/{model,word,serialization}.rs):
//  - a word starts as one symbol per character (the continuing_subword_prefix
//    on every character but the first, the end_of_word_suffix on the last);
//    a character not in the vocabulary becomes its <0xNN> byte pieces when
//    byte_fallback is on and all of them exist, else unk_token (consecutive
//    unknowns fused into one when fuse_unk), else it is dropped;
//  - then the lowest-ranked merge present in the word is applied, leftmost
//    first among equal ranks, until none applies (HF's priority queue order,
//    including its handling of merges that rebuild an existing token);
//  - ignore_merges: a word that is itself in the vocabulary is one token.
// Byte-level BPE (GPT-2, RoBERTa) needs nothing special here: the ByteLevel
// pre-tokenizer maps bytes to the vocabulary's alphabet before the model.
// dropout is validated (0 <= p <= 1) and then ignored: inference runs without
// it, as HF does with dropout 0.
//
// Offsets are byte offsets within the word. Immutable after FromJson(); every
// method is const and thread-safe.

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

class Bpe final : public Model {
 public:
  // `model` is tokenizer.json's "model" object; `path` is its JSON path, used
  // in error messages (`model.merges[12]: "a b" ...`). Accepts merges as
  // "a b" strings (older files; "#version" lines skipped) or [a, b] arrays.
  // Fails (INVALID_ARGUMENT naming the field) when a field has the wrong
  // type, a merge or its result is not in the vocabulary, an id is negative
  // or the ids are too sparse to index (max id > 4 * size + 65536).
  static absl::StatusOr<std::unique_ptr<Bpe>> FromJson(
      const nlohmann::json& model, absl::string_view path = "model");

  std::string_view type() const override { return "BPE"; }
  absl::Status Tokenize(std::string_view word,
                        std::vector<ModelToken>* out) const override;
  std::optional<int32_t> TokenToId(std::string_view token) const override;
  std::optional<std::string_view> IdToToken(int32_t id) const override;
  size_t VocabSize() const override { return vocab_.size(); }

  const std::optional<std::string>& unk_token() const { return unk_token_; }
  const std::optional<std::string>& continuing_subword_prefix() const {
    return continuing_subword_prefix_;
  }
  const std::optional<std::string>& end_of_word_suffix() const {
    return end_of_word_suffix_;
  }

 private:
  struct Merge {
    uint32_t rank;
    int32_t new_id;
  };
  // One symbol of a word being merged (HF's word::Symbol).
  struct Symbol {
    int32_t id;
    int32_t prev;  // index of the previous live symbol, -1 at the start
    int32_t next;  // index of the next live symbol, -1 at the end
    uint32_t len;  // bytes of the word it covers; 0 once merged away
  };

  Bpe() = default;

  // The initial symbols of `word`, before merging (HF's merge_word loop).
  absl::Status SplitChars(absl::string_view word,
                          std::vector<Symbol>* symbols) const;
  // Applies the merges (HF's Word::merge_all without dropout).
  void MergeAll(std::vector<Symbol>* symbols) const;
  const Merge* FindMerge(int32_t left, int32_t right) const;
  std::optional<int32_t> UnkId(std::string* error) const;

  absl::flat_hash_map<std::string, int32_t> vocab_;
  // id -> piece; nullopt for ids no piece has.
  std::vector<std::optional<std::string>> vocab_r_;
  // (left id << 32 | right id) -> merge.
  absl::flat_hash_map<uint64_t, Merge> merges_;
  // Ids of <0x00> ... <0xFF>, -1 where absent (byte_fallback).
  int32_t byte_ids_[256] = {};
  std::optional<std::string> unk_token_;
  std::optional<std::string> continuing_subword_prefix_;
  std::optional<std::string> end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::string path_;  // the model's JSON path, for errors while tokenizing
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_MODELS_BPE_H_
