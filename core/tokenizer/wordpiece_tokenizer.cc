#include "core/tokenizer/wordpiece_tokenizer.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "utf8proc.h"

namespace attnserve::core {
namespace {

utf8proc_category_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// transformers.js BertNormalizer._is_control: categories Cc, Cf, Co, Cs,
// except tab, newline and carriage return.
bool IsControl(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF ||
         c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CS;
}

// JavaScript's \s (what BertNormalizer maps to ' ' and BertPreTokenizer
// splits on): ASCII whitespace, U+FEFF and the Z* categories.
bool IsWhitespace(char32_t cp) {
  if (cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xFEFF) return true;
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL ||
         c == UTF8PROC_CATEGORY_ZP;
}

// BERT's punctuation: the ASCII non-alphanumeric printables and every P*
// category.
bool IsPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) ||
      (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

// The CJK Unified Ideographs blocks of BERT's _is_chinese_char.
bool IsChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Unicode Case_Ignorable, for the Final_Sigma rule: Mn, Me, Cf, Lm, Sk and
// the Word_Break MidLetter / MidNumLet / Single_Quote characters.
bool IsCaseIgnorable(char32_t cp) {
  switch (cp) {
    case 0x27:
    case 0x2E:
    case 0x3A:
    case 0xB7:
    case 0x387:
    case 0x5F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A:
      return true;
    default:
      break;
  }
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME ||
         c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_LM ||
         c == UTF8PROC_CATEGORY_SK;
}

// Unicode Cased: letters with case, approximated by Lu / Ll / Lt or having a
// case mapping.
bool IsCased(char32_t cp) {
  const utf8proc_category_t c = Category(cp);
  if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL ||
      c == UTF8PROC_CATEGORY_LT) {
    return true;
  }
  const auto value = static_cast<utf8proc_int32_t>(cp);
  return utf8proc_tolower(value) != value || utf8proc_toupper(value) != value;
}

void AppendUtf8(char32_t cp, std::string* out) {
  utf8proc_uint8_t buffer[4];
  const utf8proc_ssize_t n =
      utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buffer);
  out->append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

size_t CountCodePoints(absl::string_view text) {
  size_t count = 0;
  for (unsigned char byte : text) count += (byte & 0xC0) != 0x80;
  return count;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(BertTokenizerSpec spec)
    : spec_(std::move(spec)) {}

absl::StatusOr<WordPieceTokenizer> WordPieceTokenizer::Create(
    BertTokenizerSpec spec) {
  if (spec.vocab.empty()) {
    return absl::InvalidArgumentError("tokenizer vocabulary is empty");
  }
  // Added tokens may sit past the model's vocabulary (appended tokens).
  for (const AddedToken& added : spec.added_tokens) {
    if (added.content.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("added token with id ", added.id, " is empty"));
    }
    if (added.id < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("added token \"", added.content, "\" has id ", added.id,
                       ", expected >= 0"));
    }
    const size_t id = static_cast<size_t>(added.id);
    if (id >= spec.vocab.size()) spec.vocab.resize(id + 1);
    if (spec.vocab[id].empty()) spec.vocab[id] = added.content;
  }
  WordPieceTokenizer tokenizer(std::move(spec));
  const BertTokenizerSpec& s = tokenizer.spec_;
  tokenizer.token_to_id_.reserve(s.vocab.size());
  for (size_t id = 0; id < s.vocab.size(); ++id) {
    if (s.vocab[id].empty()) continue;
    // Later lines win, as in HF's vocabulary dict.
    tokenizer.token_to_id_[s.vocab[id]] = static_cast<int32_t>(id);
    tokenizer.max_piece_chars_ =
        std::max(tokenizer.max_piece_chars_, CountCodePoints(s.vocab[id]));
  }
  for (const AddedToken& added : s.added_tokens) {
    tokenizer.token_to_id_.try_emplace(added.content, added.id);
    tokenizer
        .added_token_first_byte_[static_cast<unsigned char>(added.content[0])] =
        true;
  }

  const std::optional<int32_t> unk = tokenizer.TokenToId(s.unk_token);
  if (!unk) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unk_token \"", s.unk_token, "\" is not in the vocabulary"));
  }
  tokenizer.unk_id_ = *unk;
  for (const auto* pieces : {&s.prefix, &s.suffix}) {
    for (const SpecialPiece& piece : *pieces) {
      if (piece.id < 0 || static_cast<size_t>(piece.id) >= s.vocab.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("special token \"", piece.text, "\" has id ", piece.id,
                         ", expected an id in [0, ", s.vocab.size(), ")"));
      }
    }
  }
  auto id_or = [&](const std::string& token,
                   const std::vector<SpecialPiece>& fallback) {
    if (std::optional<int32_t> id = tokenizer.TokenToId(token)) return *id;
    return fallback.empty() ? int32_t{0} : fallback.front().id;
  };
  tokenizer.cls_id_ = id_or(s.cls_token, s.prefix);
  tokenizer.sep_id_ = id_or(s.sep_token, s.suffix);
  tokenizer.pad_id_ = id_or(s.pad_token, {});
  tokenizer.strip_accents_ = s.strip_accents.value_or(s.lowercase);
  return tokenizer;
}

absl::string_view WordPieceTokenizer::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= spec_.vocab.size()) return {};
  return spec_.vocab[static_cast<size_t>(id)];
}

std::optional<int32_t> WordPieceTokenizer::TokenToId(
    absl::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<Tokenization> WordPieceTokenizer::Tokenize(
    absl::string_view text, const TokenizeOptions& options) const {
  std::vector<Span> spans;
  absl::StatusOr<size_t> untruncated = Run(text, options, &spans);
  if (!untruncated.ok()) return untruncated.status();
  Tokenization result;
  result.untruncated_length = *untruncated;
  result.tokens.reserve(spans.size());
  for (const Span& span : spans) {
    result.tokens.push_back(Token{span.id, std::string(IdToToken(span.id)),
                                  span.start, span.end, span.special});
  }
  return result;
}

absl::StatusOr<EncodedIds> WordPieceTokenizer::EncodeIds(
    absl::string_view text, const TokenizeOptions& options) const {
  std::vector<Span> spans;
  absl::StatusOr<size_t> untruncated = Run(text, options, &spans);
  if (!untruncated.ok()) return untruncated.status();
  EncodedIds result;
  result.untruncated_length = *untruncated;
  result.ids.reserve(spans.size());
  for (const Span& span : spans) result.ids.push_back(span.id);
  return result;
}

absl::StatusOr<size_t> WordPieceTokenizer::Run(absl::string_view text,
                                               const TokenizeOptions& options,
                                               std::vector<Span>* spans) const {
  if (text.size() > UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "text is ", text.size(), " bytes, expected at most ", UINT32_MAX));
  }
  std::vector<NormalizedChar> decoded;
  decoded.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(
        reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
        static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (n <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid UTF-8 at byte offset ", pos));
    }
    decoded.push_back({static_cast<char32_t>(cp), static_cast<uint32_t>(pos),
                       static_cast<uint32_t>(pos + static_cast<size_t>(n))});
    pos += static_cast<size_t>(n);
  }

  std::vector<Span> content;
  // Added tokens split the text first (leftmost, then longest match).
  size_t segment_begin = 0;
  for (size_t i = 0; i < decoded.size();) {
    if (!added_token_first_byte_[static_cast<unsigned char>(
            text[decoded[i].start])]) {
      ++i;
      continue;
    }
    const AddedToken* match = nullptr;
    const absl::string_view rest = text.substr(decoded[i].start);
    for (const AddedToken& added : spec_.added_tokens) {
      if (absl::StartsWith(rest, added.content) &&
          (match == nullptr || added.content.size() > match->content.size())) {
        match = &added;
      }
    }
    if (match == nullptr) {
      ++i;
      continue;
    }
    TokenizeSegment(decoded, segment_begin, i, &content);
    const uint32_t start = decoded[i].start;
    const uint32_t end = start + static_cast<uint32_t>(match->content.size());
    content.push_back({match->id, start, end, match->special});
    while (i < decoded.size() && decoded[i].start < end) ++i;
    segment_begin = i;
  }
  TokenizeSegment(decoded, segment_begin, decoded.size(), &content);

  const size_t num_special =
      options.add_special_tokens ? num_special_tokens() : 0;
  const size_t untruncated = content.size() + num_special;
  if (options.max_length > 0 && untruncated > options.max_length) {
    if (options.max_length < num_special) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_length is ", options.max_length, ", expected at least ",
          num_special, " (the special tokens)"));
    }
    content.resize(options.max_length - num_special);
  }
  spans->clear();
  spans->reserve(content.size() + num_special);
  if (options.add_special_tokens) {
    for (const SpecialPiece& piece : spec_.prefix)
      spans->push_back({piece.id, 0, 0, true});
  }
  spans->insert(spans->end(), content.begin(), content.end());
  if (options.add_special_tokens) {
    for (const SpecialPiece& piece : spec_.suffix)
      spans->push_back({piece.id, 0, 0, true});
  }
  return untruncated;
}

void WordPieceTokenizer::Normalize(const std::vector<NormalizedChar>& decoded,
                                   size_t begin, size_t end,
                                   std::vector<NormalizedChar>* out) const {
  // Step 1: clean text and space out CJK ideographs.
  std::vector<NormalizedChar> cleaned;
  cleaned.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    NormalizedChar c = decoded[i];
    if (spec_.clean_text) {
      if (c.cp == 0 || c.cp == 0xFFFD || IsControl(c.cp)) continue;
      if (IsWhitespace(c.cp)) c.cp = ' ';
    }
    if (spec_.handle_chinese_chars && IsChineseChar(c.cp)) {
      cleaned.push_back({' ', c.start, c.end});
      cleaned.push_back(c);
      cleaned.push_back({' ', c.start, c.end});
    } else {
      cleaned.push_back(c);
    }
  }
  // Step 2: full lowercase (String.prototype.toLowerCase), then NFD and
  // dropping Mn marks. Every output char keeps its source's byte span.
  out->clear();
  out->reserve(cleaned.size());
  char32_t lowered[2];
  utf8proc_int32_t decomposed[32];
  for (size_t i = 0; i < cleaned.size(); ++i) {
    const NormalizedChar& c = cleaned[i];
    size_t num_lowered = 1;
    lowered[0] = c.cp;
    if (spec_.lowercase) {
      if (c.cp == 0x130) {  // İ -> i + combining dot above
        lowered[0] = 'i';
        lowered[1] = 0x307;
        num_lowered = 2;
      } else if (c.cp == 0x3A3) {  // Σ: final sigma rule
        size_t before = i;
        while (before > 0 && IsCaseIgnorable(cleaned[before - 1].cp)) --before;
        size_t after = i + 1;
        while (after < cleaned.size() && IsCaseIgnorable(cleaned[after].cp))
          ++after;
        const bool final_sigma =
            before > 0 && IsCased(cleaned[before - 1].cp) &&
            !(after < cleaned.size() && IsCased(cleaned[after].cp));
        lowered[0] = final_sigma ? 0x3C2 : 0x3C3;
      } else {
        lowered[0] = static_cast<char32_t>(
            utf8proc_tolower(static_cast<utf8proc_int32_t>(c.cp)));
      }
    }
    for (size_t k = 0; k < num_lowered; ++k) {
      if (!strip_accents_) {
        out->push_back({lowered[k], c.start, c.end});
        continue;
      }
      int boundclass = 0;
      const utf8proc_ssize_t n = utf8proc_decompose_char(
          static_cast<utf8proc_int32_t>(lowered[k]), decomposed,
          sizeof(decomposed) / sizeof(decomposed[0]), UTF8PROC_DECOMPOSE,
          &boundclass);
      for (utf8proc_ssize_t d = 0; d < n; ++d) {
        if (utf8proc_category(decomposed[d]) == UTF8PROC_CATEGORY_MN) continue;
        out->push_back({static_cast<char32_t>(decomposed[d]), c.start, c.end});
      }
    }
  }
}

void WordPieceTokenizer::TokenizeSegment(
    const std::vector<NormalizedChar>& decoded, size_t begin, size_t end,
    std::vector<Span>* spans) const {
  if (begin >= end) return;
  std::vector<NormalizedChar> normalized;
  Normalize(decoded, begin, end, &normalized);
  // BertPreTokenizer: words are runs of non-space, non-punctuation chars;
  // each punctuation char is a word of its own.
  size_t word_begin = 0;
  for (size_t i = 0; i <= normalized.size(); ++i) {
    const bool at_end = i == normalized.size();
    const bool space = !at_end && IsWhitespace(normalized[i].cp);
    const bool punct = !at_end && !space && IsPunctuation(normalized[i].cp);
    if (at_end || space || punct) {
      if (i > word_begin)
        WordPiece(normalized.data() + word_begin, i - word_begin, spans);
      if (punct) WordPiece(normalized.data() + i, 1, spans);
      word_begin = i + 1;
    }
  }
}

void WordPieceTokenizer::WordPiece(const NormalizedChar* chars, size_t count,
                                   std::vector<Span>* spans) const {
  if (count > static_cast<size_t>(spec_.max_input_chars_per_word)) {
    spans->push_back({unk_id_, chars[0].start, chars[count - 1].end, false});
    return;
  }
  std::string word;
  std::vector<size_t> byte_pos(count + 1);
  for (size_t i = 0; i < count; ++i) {
    byte_pos[i] = word.size();
    AppendUtf8(chars[i].cp, &word);
  }
  byte_pos[count] = word.size();

  const size_t first_new = spans->size();
  std::string key;
  size_t start = 0;
  while (start < count) {
    size_t end = std::min(count, start + max_piece_chars_);
    std::optional<int32_t> found;
    for (; end > start; --end) {
      key.clear();
      if (start > 0) key = spec_.continuing_subword_prefix;
      key.append(word, byte_pos[start], byte_pos[end] - byte_pos[start]);
      auto it = token_to_id_.find(key);
      if (it != token_to_id_.end()) {
        found = it->second;
        break;
      }
    }
    if (!found) {
      // No piece matches: the whole word is unknown.
      spans->resize(first_new);
      spans->push_back({unk_id_, chars[0].start, chars[count - 1].end, false});
      return;
    }
    spans->push_back({*found, chars[start].start, chars[end - 1].end, false});
    start = end;
  }
}

}  // namespace attnserve::core
