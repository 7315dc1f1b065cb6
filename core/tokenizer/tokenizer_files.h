#ifndef ATTNSERVE_CORE_TOKENIZER_TOKENIZER_FILES_H_
#define ATTNSERVE_CORE_TOKENIZER_TOKENIZER_FILES_H_

// Parsers for the Hugging Face tokenizer files besides tokenizer.json
// (tokenizer_json.h): vocab.txt, tokenizer_config.json,
// special_tokens_map.json. Each one is a pure function from the file's bytes
// to StatusOr (no I/O), so a fuzzer can drive it; error messages name the
// file and the key. LoadTokenizer() (load_tokenizer.h) reads the files.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnserve::core {

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
  // Absent means true (CONTRACT.md §9: Detokenize cleans up by default, as
  // transformers did for the configs that predate the key).
  bool clean_up_tokenization_spaces = true;
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

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_TOKENIZER_TOKENIZER_FILES_H_
