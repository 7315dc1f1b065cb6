#ifndef ATTNSERVE_CORE_TOKENIZER_TOKENIZER_FILES_H_
#define ATTNSERVE_CORE_TOKENIZER_TOKENIZER_FILES_H_

// Parsers for the Hugging Face BERT tokenizer files. Each one is a pure
// function from the file's bytes to StatusOr (no I/O), so a fuzzer can drive
// it; error messages name the file and the key. LoadBertTokenizer()
// (core/tokenizer/load_bert_tokenizer.h) reads the files and calls these.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnserve::core {

// A token matched literally in the raw text before normalisation (HF's
// "added tokens"), e.g. "[MASK]" typed by a user.
struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = true;
};

// A special token the post-processor puts around a sequence.
struct SpecialPiece {
  std::string text;
  int32_t id = 0;
};

// Everything a WordPieceTokenizer needs, whichever files it came from.
struct BertTokenizerSpec {
  // vocab[id] is the piece with that id. When a piece appears more than once
  // (vocab.txt), the tokenizer maps it to its LAST id, as HF's load_vocab
  // and tokenizers' WordPiece::read_file do.
  std::vector<std::string> vocab;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";
  std::string continuing_subword_prefix = "##";
  int max_input_chars_per_word = 100;
  // BertNormalizer options.
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool lowercase = true;
  std::optional<bool> strip_accents;  // nullopt: strip when lowercasing
  // 0 when unset (absent, or HF's 1e30 "very large" sentinel).
  int64_t model_max_length = 0;
  std::vector<AddedToken> added_tokens;
  // The post-processor's template for one sequence: prefix $A suffix.
  std::vector<SpecialPiece> prefix;
  std::vector<SpecialPiece> suffix;
};

// vocab.txt: one piece per line, id = line number (0-based). "\n" or "\r\n"
// line ends; a final newline does not start another entry; an empty line
// is an (unmatchable) empty piece that still takes its id. Empty file or
// invalid UTF-8 -> INVALID_ARGUMENT.
absl::StatusOr<std::vector<std::string>> ParseVocabTxt(absl::string_view bytes);

// Options read from tokenizer_config.json.
struct TokenizerConfigJson {
  bool do_lower_case = true;
  std::optional<bool> strip_accents;
  bool tokenize_chinese_chars = true;
  int64_t model_max_length = 0;  // 0: unset
  // transformers' default when absent is false.
  bool clean_up_tokenization_spaces = false;
  std::optional<std::string> unk_token, cls_token, sep_token, pad_token,
      mask_token;
  std::vector<std::string> additional_special_tokens;
};
absl::StatusOr<TokenizerConfigJson> ParseTokenizerConfigJson(
    absl::string_view bytes);

// special_tokens_map.json: the same token-name keys (strings, or objects
// with "content"), filled into `config` where present.
absl::Status ParseSpecialTokensMapJson(absl::string_view bytes,
                                       TokenizerConfigJson* config);

// Builds the spec for the vocab.txt route: [CLS] $A [SEP] template, the
// named special tokens (those in the vocabulary) as added tokens.
absl::StatusOr<BertTokenizerSpec> MakeSpecFromVocab(
    std::vector<std::string> vocab, const TokenizerConfigJson& config);

// tokenizer.json (tokenizers' serialisation). model.type must be
// "WordPiece"; normalizer BertNormalizer (or a Sequence of one
// BertNormalizer, or of Lowercase / NFD+StripAccents); pre_tokenizer
// BertPreTokenizer; post_processor TemplateProcessing, BertProcessing, a
// Sequence of those, or null. truncation / padding / decoder are ignored.
// model_max_length is not in this file: the loader takes it from
// tokenizer_config.json.
absl::StatusOr<BertTokenizerSpec> ParseTokenizerJson(absl::string_view bytes);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_TOKENIZER_TOKENIZER_FILES_H_
