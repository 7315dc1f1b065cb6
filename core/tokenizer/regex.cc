#include "core/tokenizer/regex.h"

#include <cctype>
#include <cstddef>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/tokenizer/unicode.h"
#include "oniguruma.h"

namespace attnserve::core::tokenizers {
namespace {

#include "core/tokenizer/unicode_properties.inc"

// The bracket class of HF's ranges for the property named `name` (as in
// \p{name}), or "" when unicode_properties.inc does not have it.
std::string PropertyClass(std::string_view name, bool negated) {
  std::string key;
  for (char c : name) {
    if (c != ' ' && c != '_' && c != '-') {
      key.push_back(
          static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  for (const UnicodeProperty& property : kUnicodeProperties) {
    for (absl::string_view alias : absl::StrSplit(property.names, ' ')) {
      if (alias != key) continue;
      std::string out = negated ? "[^" : "[";
      for (size_t i = 0; i < property.count; ++i) {
        const char32_t first = property.ranges[2 * i];
        const char32_t last = property.ranges[2 * i + 1];
        absl::StrAppend(&out, "\\x{", absl::Hex(first), "}");
        if (last != first) absl::StrAppend(&out, "-\\x{", absl::Hex(last), "}");
      }
      return out + "]";
    }
  }
  return "";
}

}  // namespace

std::string WithHfUnicodeProperties(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\' || i + 1 >= pattern.size()) {
      out.push_back(pattern[i]);
      continue;
    }
    const char kind = pattern[i + 1];
    const size_t close = pattern.find('}', i);
    if ((kind == 'p' || kind == 'P') && i + 2 < pattern.size() &&
        pattern[i + 2] == '{' && close != std::string_view::npos) {
      std::string_view name = pattern.substr(i + 3, close - (i + 3));
      bool negated = kind == 'P';
      if (!name.empty() && name.front() == '^') {
        negated = !negated;
        name.remove_prefix(1);
      }
      if (std::string expanded = PropertyClass(name, negated);
          !expanded.empty()) {
        out += expanded;
        i = close;
        continue;
      }
    }
    // Any other escape (\\, \x{...}, an unknown property) is kept as is.
    out.push_back(pattern[i]);
    out.push_back(pattern[++i]);
  }
  return out;
}

namespace {

void InitializeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

const OnigUChar* Bytes(std::string_view text) {
  return reinterpret_cast<const OnigUChar*>(text.data());
}

// Runs one search from `start`; returns the match or {-1, -1}.
std::pair<ptrdiff_t, ptrdiff_t> SearchFrom(OnigRegex regex,
                                           std::string_view text, size_t start,
                                           OnigRegion* region) {
  const OnigUChar* begin = Bytes(text);
  const OnigUChar* end = begin + text.size();
  const int r = onig_search(regex, begin, end, begin + start, end, region,
                            ONIG_OPTION_NONE);
  if (r < 0) return {-1, -1};
  return {region->beg[0], region->end[0]};
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Regex>> Regex::Create(
    std::string_view pattern) {
  InitializeOnce();
  const std::string expanded = WithHfUnicodeProperties(pattern);
  OnigRegex regex = nullptr;
  OnigErrorInfo error_info;
  const int r = onig_new(&regex, Bytes(expanded),
                         Bytes(expanded) + expanded.size(), ONIG_OPTION_NONE,
                         ONIG_ENCODING_UTF8, ONIG_SYNTAX_RUBY, &error_info);
  if (r != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, r, &error_info);
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid regex: ", reinterpret_cast<const char*>(message)));
  }
  return std::shared_ptr<const Regex>(new Regex(regex));
}

std::string Regex::Escape(std::string_view literal) {
  std::string out;
  out.reserve(literal.size() * 2);
  for (char c : literal) {
    switch (c) {
      case '\\':
      case '.':
      case '+':
      case '*':
      case '?':
      case '(':
      case ')':
      case '|':
      case '[':
      case ']':
      case '{':
      case '}':
      case '^':
      case '$':
      case '#':
      case '&':
      case '-':
      case '~':
        out.push_back('\\');
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Regex::~Regex() { onig_free(static_cast<OnigRegex>(regex_)); }

std::vector<std::pair<size_t, size_t>> Regex::FindAll(
    std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  OnigRegion* region = onig_region_new();
  size_t last_end = 0;
  bool have_last_match = false;
  size_t last_match_end = 0;
  while (last_end <= text.size()) {
    const auto [s, e] =
        SearchFrom(static_cast<OnigRegex>(regex_), text, last_end, region);
    if (s < 0) break;
    const auto start = static_cast<size_t>(s);
    const auto end = static_cast<size_t>(e);
    if (start == end && have_last_match && last_match_end == end) {
      if (last_end >= text.size()) break;
      size_t length = 0;
      DecodeUtf8(text, last_end, &length);
      last_end += length;
      continue;
    }
    last_end = end;
    last_match_end = end;
    have_last_match = true;
    matches.emplace_back(start, end);
  }
  onig_region_free(region, 1);
  return matches;
}

bool Regex::Search(std::string_view text) const {
  OnigRegion* region = onig_region_new();
  const bool found =
      SearchFrom(static_cast<OnigRegex>(regex_), text, 0, region).first >= 0;
  onig_region_free(region, 1);
  return found;
}

}  // namespace attnserve::core::tokenizers
