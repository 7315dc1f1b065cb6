#ifndef ATTNSERVE_CORE_TOKENIZER_REGEX_H_
#define ATTNSERVE_CORE_TOKENIZER_REGEX_H_

// Oniguruma regular expressions, as HF tokenizers' SysRegex (the `onig`
// crate: Ruby syntax, UTF-8, no options), for the Split / Replace patterns of
// tokenizer.json.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::core::tokenizers {

// Rust regex's Unicode \w (UTS #18: Alphabetic, marks, decimal digits,
// connector punctuation, join controls), as a bracket-expression body; HF
// uses the Rust `regex` crate (not Oniguruma) for the Whitespace
// pre-tokenizer and the added tokens' single_word test.
inline constexpr char kRustWordClass[] =
    R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D})";

// `pattern` with each \p{X}, \P{X} and \p{^X} whose X is a general category
// of unicode_properties.inc (L, Lu, Ll, Lt, Lm, Lo, M, Mn, Mc, Me, N, Nd, Nl,
// No, P, Pc, S, or their long names) or Alphabetic replaced by a bracket class
// of the code points HF's Oniguruma (Unicode 16.0) gives it: Debian's
// libonig has older tables (Unicode 14.0). Other properties (scripts, Z, C,
// the P and S subcategories) and \w, \d, \s keep libonig's tables.
std::string WithHfUnicodeProperties(std::string_view pattern);

class Regex {
 public:
  // INVALID_ARGUMENT with Oniguruma's message when `pattern` does not compile.
  // Properties as WithHfUnicodeProperties.
  static absl::StatusOr<std::shared_ptr<const Regex>> Create(
      std::string_view pattern);
  // A pattern matching `literal` exactly (HF's regex::escape of a string
  // pattern).
  static std::string Escape(std::string_view literal);

  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-overlapping matches [start, end) left to right, as the onig crate's
  // find_iter: an empty match right where the previous match ended is
  // skipped by one character. Thread-safe.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;
  // Whether the pattern matches somewhere in `text`.
  bool Search(std::string_view text) const;

 private:
  explicit Regex(void* regex) : regex_(regex) {}
  void* regex_;  // OnigRegex
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_REGEX_H_
