#ifndef ATTNSERVE_CORE_TOKENIZER_UNICODE_H_
#define ATTNSERVE_CORE_TOKENIZER_UNICODE_H_

// The character predicates and per-character transforms of HF tokenizers'
// Rust implementation (Rust's char methods, the unicode_categories crate,
// unicode-normalization-alignments), on utf8proc's tables.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attnserve::core::tokenizers {

// Decodes the UTF-8 character at text[pos] (valid UTF-8 assumed) and stores
// its byte length in *length.
char32_t DecodeUtf8(std::string_view text, size_t pos, size_t* length);
void AppendUtf8(char32_t cp, std::string* out);
// The code points of `text` (valid UTF-8 assumed).
std::vector<char32_t> CodePoints(std::string_view text);
size_t Utf8Length(char32_t cp);
// Byte offset of the first invalid UTF-8 sequence, or -1.
int64_t FirstInvalidUtf8(std::string_view text);

// Rust char::is_whitespace (the White_Space property).
bool IsWhitespace(char32_t cp);
// The punctuation test of BertPreTokenizer and Punctuation: ASCII
// punctuation or a P* category, as of HF's (older) Unicode tables.
bool IsPunctuation(char32_t cp);
// Rust char::is_numeric: categories Nd, Nl, No.
bool IsNumeric(char32_t cp);
// BertNormalizer's is_other: Cc, Cf, Co, Cs (not Cn), as of HF's (older)
// Unicode tables.
bool IsOther(char32_t cp);
// Category Mn (BertNormalizer's accent stripping), as of HF's (older)
// Unicode tables.
bool IsMarkNonspacing(char32_t cp);
// Categories Mn, Mc, Me (the StripAccents normalizer), as of HF's (older)
// Unicode tables.
bool IsCombiningMark(char32_t cp);

// Rust char::to_lowercase: the full lower-case mapping, per character (no
// final-sigma rule). Returns the number of code points written to out[0..2).
int ToLowercase(char32_t cp, char32_t out[2]);

// A normalised character and HF's alignment "change" (0: replaces the next
// input character; > 0: inserted; < 0: replaces the next one and removes
// -change more).
using CharChange = std::pair<char32_t, int>;

enum class UnicodeForm { kNfd, kNfkd, kNfc, kNfkc };
// unicode-normalization-alignments' nfd()/nfkd()/nfc()/nfkc() over `text`.
std::vector<CharChange> NormalizeWithChanges(std::string_view text,
                                             UnicodeForm form);

// True when NormalizeWithChanges(text, form) is `text` itself with every
// change 0 (no character decomposes, composes or reorders): a quick check.
bool IsNormalizationIdentity(std::string_view text, UnicodeForm form);

// Byte lengths of the extended grapheme clusters of `text` (UAX #29).
std::vector<size_t> GraphemeLengths(std::string_view text);

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_UNICODE_H_
