#include "core/tokenizer/unicode.h"

#include <algorithm>
#include <optional>

#include "utf8proc.h"

namespace attnserve::core::tokenizers {
namespace {
#include "core/tokenizer/unicode_differences.inc"
}  // namespace
}  // namespace attnserve::core::tokenizers

namespace attnserve::core::tokenizers {
namespace {

template <size_t N>
bool Contains(const char32_t (&sorted)[N], char32_t cp) {
  return std::binary_search(sorted, sorted + N, cp);
}

utf8proc_category_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// HF's tables are of an older Unicode (unicode_differences.inc): marks newer
// than them have the combining class 0, and characters newer than them do
// not decompose (nor are they composed).
int CombiningClass(char32_t cp) {
  if (cp < 0x300) return 0;
  if (Contains(kRustNoCombiningClass, cp)) return 0;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))
      ->combining_class;
}

bool Decomposes(char32_t cp, bool compatible) {
  return compatible ? !Contains(kRustNoCompatDecomposition, cp)
                    : !Contains(kRustNoDecomposition, cp);
}

// The primary composite of (a, b), as unicode-normalization's compose().
std::optional<char32_t> Compose(char32_t a, char32_t b) {
  utf8proc_int32_t pair[2] = {static_cast<utf8proc_int32_t>(a),
                              static_cast<utf8proc_int32_t>(b)};
  if (utf8proc_normalize_utf32(pair, 2, UTF8PROC_COMPOSE) != 1 ||
      !Decomposes(static_cast<char32_t>(pair[0]), /*compatible=*/false)) {
    return std::nullopt;
  }
  return static_cast<char32_t>(pair[0]);
}

// unicode-normalization-alignments' Decompositions: every character's full
// decomposition (its first code point replaces it, the others are inserted),
// then the canonical reordering of each run of non-starters (stable sort by
// combining class).
std::vector<CharChange> Decompose(std::string_view text, bool compatible) {
  struct Item {
    int ccc;
    char32_t cp;
    int change;
  };
  std::vector<Item> buffer;
  buffer.reserve(text.size());
  size_t ready_end = 0;
  auto sort_pending = [&] {
    std::stable_sort(
        buffer.begin() + static_cast<std::ptrdiff_t>(ready_end), buffer.end(),
        [](const Item& x, const Item& y) { return x.ccc < y.ccc; });
    ready_end = buffer.size();
  };
  const utf8proc_option_t options = static_cast<utf8proc_option_t>(
      UTF8PROC_DECOMPOSE | (compatible ? UTF8PROC_COMPAT : 0));
  utf8proc_int32_t decomposed[32];
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    const char32_t cp = DecodeUtf8(text, pos, &length);
    pos += length;
    int boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(
        static_cast<utf8proc_int32_t>(cp), decomposed,
        sizeof(decomposed) / sizeof(decomposed[0]), options, &boundclass);
    if (n <= 0 || n > 32 || (cp >= 0x300 && !Decomposes(cp, compatible))) {
      decomposed[0] = static_cast<utf8proc_int32_t>(cp);
      n = 1;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) {
      const char32_t d = static_cast<char32_t>(decomposed[i]);
      const int ccc = CombiningClass(d);
      if (ccc == 0) sort_pending();
      buffer.push_back({ccc, d, i == 0 ? 0 : 1});
    }
  }
  sort_pending();
  std::vector<CharChange> out;
  out.reserve(buffer.size());
  for (const Item& item : buffer) out.emplace_back(item.cp, item.change);
  return out;
}

// unicode-normalization-alignments' Recompositions over a decomposition: a
// composite takes its starter's place and its mark's change minus one.
std::vector<CharChange> Recompose(const std::vector<CharChange>& decomposed) {
  std::vector<CharChange> out;
  out.reserve(decomposed.size());
  std::optional<CharChange> composee;
  int last_ccc = -1;  // -1: no mark since the composee
  std::vector<CharChange> buffer;
  for (const CharChange& item : decomposed) {
    const char32_t ch = item.first;
    const int ch_class = CombiningClass(ch);
    if (!composee) {
      if (ch_class != 0) {
        out.push_back(item);
      } else {
        composee = item;
      }
      continue;
    }
    const CharChange k = *composee;
    if (last_ccc < 0) {
      if (std::optional<char32_t> r = Compose(k.first, ch)) {
        composee = CharChange(*r, k.second + item.second - 1);
        continue;
      }
      if (ch_class == 0) {
        composee = item;
        out.push_back(k);
        continue;
      }
      buffer.push_back(item);
      last_ccc = ch_class;
      continue;
    }
    if (last_ccc >= ch_class) {
      if (ch_class == 0) {
        composee = item;
        last_ccc = -1;
        out.push_back(k);
        out.insert(out.end(), buffer.begin(), buffer.end());
        buffer.clear();
        continue;
      }
      buffer.push_back(item);
      last_ccc = ch_class;
      continue;
    }
    if (std::optional<char32_t> r = Compose(k.first, ch)) {
      composee = CharChange(*r, k.second + item.second - 1);
      continue;
    }
    buffer.push_back(item);
    last_ccc = ch_class;
  }
  if (composee) out.push_back(*composee);
  out.insert(out.end(), buffer.begin(), buffer.end());
  return out;
}

}  // namespace

char32_t DecodeUtf8(std::string_view text, size_t pos, size_t* length) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  auto cont = [&](size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i]) &
                                 0x3F);
  };
  if (b0 < 0x80) {
    *length = 1;
    return b0;
  }
  if (b0 < 0xE0) {
    *length = 2;
    return (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
  }
  if (b0 < 0xF0) {
    *length = 3;
    return (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
  }
  *length = 4;
  return (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) |
         (cont(2) << 6) | cont(3);
}

size_t Utf8Length(char32_t cp) {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

std::vector<char32_t> CodePoints(std::string_view text) {
  std::vector<char32_t> chars;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    chars.push_back(DecodeUtf8(text, pos, &length));
    pos += length;
  }
  return chars;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int64_t FirstInvalidUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(
        reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
        static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (n <= 0) return static_cast<int64_t>(pos);
    pos += static_cast<size_t>(n);
  }
  return -1;
}

bool IsWhitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool IsPunctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) ||
           (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  }
  // HF's tables are of an older Unicode (unicode_differences.inc).
  if (Contains(kRustPunctuation, cp)) return true;
  if (Contains(kRustNotPunctuation, cp)) return false;
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

bool IsNumeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL ||
         c == UTF8PROC_CATEGORY_NO;
}

bool IsOther(char32_t cp) {
  if (cp >= 0x80) {
    // HF's tables are of an older Unicode (unicode_differences.inc).
    if (Contains(kRustOther, cp)) return true;
    if (Contains(kRustNotOther, cp)) return false;
  }
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF ||
         c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CS;
}

bool IsMarkNonspacing(char32_t cp) {
  if (cp < 0x300) return false;
  // HF's tables are of an older Unicode (unicode_differences.inc).
  if (Contains(kRustMarkNonspacing, cp)) return true;
  if (Contains(kRustNotMarkNonspacing, cp)) return false;
  return Category(cp) == UTF8PROC_CATEGORY_MN;
}

bool IsCombiningMark(char32_t cp) {
  if (cp < 0x300) return false;
  if (Contains(kRustCombiningMark, cp)) return true;
  if (Contains(kRustNotCombiningMark, cp)) return false;
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC ||
         c == UTF8PROC_CATEGORY_ME;
}

int ToLowercase(char32_t cp, char32_t out[2]) {
  if (cp < 0x80) {
    out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    return 1;
  }
  if (cp == 0x130) {  // İ -> i + combining dot above (SpecialCasing)
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  out[0] = static_cast<char32_t>(
      utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
  return 1;
}

std::vector<CharChange> NormalizeWithChanges(std::string_view text,
                                             UnicodeForm form) {
  const bool compatible =
      form == UnicodeForm::kNfkd || form == UnicodeForm::kNfkc;
  std::vector<CharChange> decomposed = Decompose(text, compatible);
  if (form == UnicodeForm::kNfd || form == UnicodeForm::kNfkd) {
    return decomposed;
  }
  return Recompose(decomposed);
}

bool IsNormalizationIdentity(std::string_view text, UnicodeForm form) {
  const bool compatible =
      form == UnicodeForm::kNfkd || form == UnicodeForm::kNfkc;
  const bool composes = form == UnicodeForm::kNfc || form == UnicodeForm::kNfkc;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    const char32_t cp = DecodeUtf8(text, pos, &length);
    pos += length;
    if (cp < 0x300) {
      // Latin-1 decomposes (é, ª, ½ ...) except below U+00A0.
      if (cp < 0xA0) continue;
      return false;
    }
    if (cp >= 0xAC00 && cp <= 0xD7A3) return false;  // Hangul syllables
    if (cp >= 0x1100 && cp <= 0x11FF && composes) return false;  // jamo
    const utf8proc_property_t* p =
        utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
    if (p->combining_class != 0) return false;
    if (p->decomp_seqindex != UINT16_MAX &&
        (compatible || p->decomp_type == 0)) {
      return false;
    }
    // A starter that composes with what precedes it (e.g. U+0B3E): utf8proc
    // marks second elements of a composition with comb_index >= 0x8000.
    if (composes && p->comb_index != UINT16_MAX && p->comb_index >= 0x8000) {
      return false;
    }
  }
  return true;
}

namespace {

// GraphemeBreakProperty.txt gives these unassigned, default-ignorable code
// points the class Control (HF's unicode-segmentation does too); utf8proc
// gives every unassigned code point the class Other.
bool IsUnassignedControl(char32_t cp) {
  return cp == 0x2065 || (cp >= 0xFFF0 && cp <= 0xFFF8) || cp == 0xE0000 ||
         (cp >= 0xE0002 && cp <= 0xE001F) || (cp >= 0xE0080 && cp <= 0xE00FF) ||
         (cp >= 0xE01F0 && cp <= 0xE0FFF);
}

}  // namespace

std::vector<size_t> GraphemeLengths(std::string_view text) {
  std::vector<size_t> lengths;
  utf8proc_int32_t state = 0;
  char32_t previous = 0;
  size_t cluster_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    const char32_t cp = DecodeUtf8(text, pos, &length);
    // GB4, GB5: a break after and before a Control.
    const bool control =
        IsUnassignedControl(previous) || IsUnassignedControl(cp);
    if (pos > 0 && (utf8proc_grapheme_break_stateful(
                        static_cast<utf8proc_int32_t>(previous),
                        static_cast<utf8proc_int32_t>(cp), &state) ||
                    control)) {
      lengths.push_back(pos - cluster_start);
      cluster_start = pos;
    }
    previous = cp;
    pos += length;
  }
  if (text.size() > cluster_start)
    lengths.push_back(text.size() - cluster_start);
  return lengths;
}

}  // namespace attnserve::core::tokenizers
