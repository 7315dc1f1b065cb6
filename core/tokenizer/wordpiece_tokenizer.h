#ifndef ATTNSERVE_CORE_TOKENIZER_WORDPIECE_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZER_WORDPIECE_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer/tokenizer_files.h"

namespace attnserve::core {

// One output token.
struct Token {
  int32_t id = 0;
  std::string text;  // the vocabulary piece: "##ing", "[CLS]", "[UNK]"
  // UTF-8 byte offsets [start, end) of the piece's source in the ORIGINAL
  // text; 0, 0 for the [CLS] / [SEP] the template adds.
  uint32_t start = 0;
  uint32_t end = 0;
  // True for template tokens and for special added tokens found in the text
  // (e.g. a literal "[MASK]", which keeps its real offsets).
  bool special = false;
};

struct TokenizeOptions {
  bool add_special_tokens =
      true;  // the post-processor template ([CLS] $A [SEP])
  // > 0: keep at most this many tokens (template tokens included), cutting
  // content tokens at the end and keeping the suffix ([SEP]). 0: no limit.
  size_t max_length = 0;
};

struct Tokenization {
  std::vector<Token> tokens;
  size_t untruncated_length = 0;  // tokens before truncation, specials included
};

struct EncodedIds {
  std::vector<int32_t> ids;
  size_t untruncated_length = 0;
};

// Hugging Face's BERT tokenizer: BertNormalizer (clean text, CJK spacing,
// lowercase, NFD accent stripping), BertPreTokenizer (whitespace and
// punctuation split) and greedy longest-match-first WordPiece, with
// tokenizers-style offsets into the original text. Added tokens (e.g.
// "[MASK]") are matched literally in the raw text first, leftmost-longest.
//
// Text must be valid UTF-8: otherwise INVALID_ARGUMENT "invalid UTF-8 at
// byte offset N" (callers prefix the field, e.g. "texts[3]: ...").
//
// Reference behaviour: transformers.js and HF tokenizers (the "fast"
// tokenizer TEI uses), checked by tests/core/tokenizer_golden_test.cc. Where
// those two differ, attnserve follows the one that agrees with Python
// transformers: a word-final "Σ" lowercases to "ς" (as JS toLowerCase and
// Python str.lower; Rust lowercases per char), and CJK ideographs outside
// the BMP (Extension B+) are split as single tokens (transformers.js walks
// UTF-16 units and misses them). Unassigned code points (Cn) are kept, as in
// transformers.js. Like the fast tokenizers (and unlike Python's slow
// BertTokenizer) no NFC step runs before splitting.
// Offsets: every normalised char keeps the byte span of the original char it
// came from; a piece spans from its first char's start to its last char's
// end, so a dropped char (control, lone combining mark) at a word's edge is
// outside the span, as in HF tokenizers.
// Added tokens: matched on the raw text only (HF's normalized=false, which
// is how BERT's special tokens are saved); lstrip / rstrip / single_word are
// not applied (ids are unaffected for BERT: whitespace is dropped anyway).
//
// Immutable after Create(); all methods are const and thread-safe.
class WordPieceTokenizer {
 public:
  // Fails (INVALID_ARGUMENT) when the unk token or a template token is not
  // in the vocabulary or a template id does not match the vocabulary.
  static absl::StatusOr<WordPieceTokenizer> Create(BertTokenizerSpec spec);

  absl::StatusOr<Tokenization> Tokenize(absl::string_view text,
                                        const TokenizeOptions& options) const;
  // Same ids as Tokenize(), without piece strings (the encoder's path).
  absl::StatusOr<EncodedIds> EncodeIds(absl::string_view text,
                                       const TokenizeOptions& options) const;

  // The piece of `id`, or empty when out of range.
  absl::string_view IdToToken(int32_t id) const;
  std::optional<int32_t> TokenToId(absl::string_view token) const;

  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }  // 0 when the vocab has no pad
  int32_t unk_id() const { return unk_id_; }
  size_t vocab_size() const { return spec_.vocab.size(); }
  int64_t max_length() const { return spec_.model_max_length; }  // 0: unset
  // Number of tokens the template adds (2 for [CLS] ... [SEP]).
  size_t num_special_tokens() const {
    return spec_.prefix.size() + spec_.suffix.size();
  }
  const BertTokenizerSpec& spec() const { return spec_; }

 private:
  struct Span {
    int32_t id;
    uint32_t start;
    uint32_t end;
    bool special;
  };
  // A normalised code point and the original bytes it came from.
  struct NormalizedChar {
    char32_t cp;
    uint32_t start;
    uint32_t end;
  };

  explicit WordPieceTokenizer(BertTokenizerSpec spec);

  // Runs the pipeline into `spans`; returns the untruncated length.
  absl::StatusOr<size_t> Run(absl::string_view text,
                             const TokenizeOptions& options,
                             std::vector<Span>* spans) const;
  // Normalises one segment (between added tokens) and appends its pieces.
  void TokenizeSegment(const std::vector<NormalizedChar>& decoded, size_t begin,
                       size_t end, std::vector<Span>* spans) const;
  void Normalize(const std::vector<NormalizedChar>& decoded, size_t begin,
                 size_t end, std::vector<NormalizedChar>* out) const;
  void WordPiece(const NormalizedChar* chars, size_t count,
                 std::vector<Span>* spans) const;

  BertTokenizerSpec spec_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  size_t max_piece_chars_ = 0;  // longest vocabulary piece, in code points
  bool added_token_first_byte_[256] = {};  // bytes an added token starts with
  bool strip_accents_ = false;
  int32_t cls_id_ = 0, sep_id_ = 0, pad_id_ = 0, unk_id_ = 0;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_TOKENIZER_WORDPIECE_TOKENIZER_H_
