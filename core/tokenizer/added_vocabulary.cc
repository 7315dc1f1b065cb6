#include "core/tokenizer/added_vocabulary.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace attnserve::core::tokenizers {
namespace {

std::shared_ptr<const Regex> MustCompile(std::string_view pattern) {
  absl::StatusOr<std::shared_ptr<const Regex>> regex = Regex::Create(pattern);
  if (!regex.ok()) std::abort();  // a constant pattern
  return *std::move(regex);
}

// Start of the whitespace run that ends `text` (text.size() when none).
size_t TrailingSpaceStart(std::string_view text) {
  size_t pos = text.size();
  while (pos > 0) {
    size_t start = pos - 1;
    while (start > 0 &&
           (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
      --start;
    size_t length = 0;
    if (!IsWhitespace(DecodeUtf8(text, start, &length))) break;
    pos = start;
  }
  return pos;
}

// Length of the whitespace run that starts `text`.
size_t LeadingSpaceLength(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 0;
    if (!IsWhitespace(DecodeUtf8(text, pos, &length))) break;
    pos += length;
  }
  return pos;
}

}  // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens,
                                 const Normalizer* normalizer)
    : word_start_(MustCompile(absl::StrCat(R"(\A[)", kRustWordClass, "]"))),
      word_end_(MustCompile(absl::StrCat("[", kRustWordClass, R"(]\z)"))) {
  for (AddedToken& token : tokens) {
    if (token.content.empty()) continue;
    content_to_id_[token.content] = token.id;
    id_to_index_[token.id] = tokens_.size();
    tokens_.push_back(std::move(token));
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& token = tokens_[i];
    Matcher& matcher = token.normalized ? normalized_ : raw_;
    std::string pattern = token.content;
    if (token.normalized && normalizer != nullptr) {
      NormalizedText text(token.content);
      normalizer->Normalize(&text);
      pattern = text.get();
    }
    if (pattern.empty()) continue;
    matcher.first_byte[static_cast<unsigned char>(pattern[0])] = true;
    matcher.patterns.emplace_back(std::move(pattern), i);
  }
}

std::optional<int32_t> AddedVocabulary::TokenToId(
    std::string_view content) const {
  auto it =
      content_to_id_.find(absl::string_view(content.data(), content.size()));
  if (it == content_to_id_.end()) return std::nullopt;
  return it->second;
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  auto it = id_to_index_.find(id);
  return it == id_to_index_.end() ? nullptr : &tokens_[it->second];
}

std::vector<AddedVocabulary::Match> AddedVocabulary::FindMatches(
    std::string_view text, const Matcher& matcher) const {
  if (text.empty()) return {Match{-1, 0, 0}};
  if (matcher.patterns.empty()) return {Match{-1, 0, text.size()}};
  std::vector<Match> splits;
  size_t start_offset = 0;
  // Leftmost-longest, non-overlapping (the aho-corasick scan resumes after
  // each match's own end).
  size_t pos = 0;
  while (pos < text.size()) {
    if (!matcher.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const std::pair<std::string, size_t>* best = nullptr;
    const std::string_view rest = text.substr(pos);
    for (const auto& pattern : matcher.patterns) {
      if (rest.substr(0, pattern.first.size()) == pattern.first &&
          (best == nullptr || pattern.first.size() > best->first.size())) {
        best = &pattern;
      }
    }
    if (best == nullptr) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + best->first.size();
    pos = stop;
    const AddedToken& token = tokens_[best->second];
    if (token.single_word) {
      const bool start_space =
          start == 0 || !word_end_->Search(text.substr(0, start));
      const bool stop_space =
          stop == text.size() || !word_start_->Search(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (token.lstrip) {
      start = std::max(TrailingSpaceStart(text.substr(0, start)), start_offset);
    }
    if (token.rstrip) stop += LeadingSpaceLength(text.substr(stop));
    if (start_offset < start) splits.push_back({-1, start_offset, start});
    splits.push_back({static_cast<int64_t>(best->second), start, stop});
    start_offset = stop;
  }
  if (start_offset != text.size()) {
    splits.push_back({-1, start_offset, text.size()});
  }
  return splits;
}

void AddedVocabulary::SplitWithMatcher(PreTokenizedText* text,
                                       const Matcher& matcher,
                                       const Normalizer* normalizer) const {
  std::vector<PreTokenizedText::Split> result;
  for (PreTokenizedText::Split& split : text->splits) {
    if (split.tokens.has_value()) {
      result.push_back(std::move(split));
      continue;
    }
    if (normalizer != nullptr) normalizer->Normalize(&split.normalized);
    for (const Match& m : FindMatches(split.normalized.get(), matcher)) {
      NormalizedText slice = split.normalized.Slice(m.start, m.end);
      if (slice.empty()) continue;
      if (m.token < 0) {
        result.push_back({std::move(slice), std::nullopt});
      } else {
        const AddedToken& token = tokens_[static_cast<size_t>(m.token)];
        std::vector<ModelToken> tokens = {
            ModelToken{token.id, slice.get(), 0, slice.size()}};
        result.push_back({std::move(slice), std::move(tokens)});
      }
    }
  }
  text->splits = std::move(result);
}

PreTokenizedText AddedVocabulary::ExtractAndNormalize(
    std::string_view text, const Normalizer* normalizer) const {
  PreTokenizedText result;
  result.splits.push_back({NormalizedText(text), std::nullopt});
  SplitWithMatcher(&result, raw_, nullptr);
  SplitWithMatcher(&result, normalized_, normalizer);
  return result;
}

}  // namespace attnserve::core::tokenizers
