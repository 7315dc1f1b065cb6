#include "core/tokenizer/pre_tokenized_text.h"

#include <algorithm>
#include <utility>

namespace attnserve::core::tokenizers {

std::vector<PatternMatch> FindCharMatches(
    std::string_view text, const std::function<bool(char32_t)>& is_match) {
  if (text.empty()) return {PatternMatch{0, 0, false}};
  std::vector<PatternMatch> matches;
  size_t last_offset = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    const char32_t cp = DecodeUtf8(text, pos, &length);
    if (is_match(cp)) {
      if (last_offset < pos) matches.push_back({last_offset, pos, false});
      matches.push_back({pos, pos + length, true});
      last_offset = pos + length;
    }
    pos += length;
  }
  if (text.size() > last_offset) {
    matches.push_back({last_offset, text.size(), false});
  }
  return matches;
}

std::vector<PatternMatch> FindRegexMatches(const Regex& regex,
                                           std::string_view text) {
  if (text.empty()) return {PatternMatch{0, 0, false}};
  std::vector<PatternMatch> matches;
  size_t previous = 0;
  for (const auto& [start, end] : regex.FindAll(text)) {
    if (previous != start) matches.push_back({previous, start, false});
    matches.push_back({start, end, true});
    previous = end;
  }
  if (previous != text.size()) {
    matches.push_back({previous, text.size(), false});
  }
  return matches;
}

void InvertMatches(std::vector<PatternMatch>* matches) {
  for (PatternMatch& m : *matches) m.is_match = !m.is_match;
}

std::vector<NormalizedText> SplitByMatches(const NormalizedText& text,
                                           std::vector<PatternMatch> matches,
                                           SplitBehavior behavior) {
  // (start, end, remove)
  struct Piece {
    size_t start;
    size_t end;
    bool remove;
  };
  std::vector<Piece> pieces;
  pieces.reserve(matches.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const PatternMatch& m : matches) {
        pieces.push_back({m.start, m.end, false});
      }
      break;
    case SplitBehavior::kRemoved:
      for (const PatternMatch& m : matches) {
        pieces.push_back({m.start, m.end, m.is_match});
      }
      break;
    case SplitBehavior::kContiguous:
      for (const PatternMatch& m : matches) {
        if (m.is_match == previous_match && !pieces.empty()) {
          pieces.back().end = m.end;
        } else {
          pieces.push_back({m.start, m.end, false});
        }
        previous_match = m.is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const PatternMatch& m : matches) {
        if (m.is_match && !previous_match && !pieces.empty()) {
          pieces.back().end = m.end;
        } else {
          pieces.push_back({m.start, m.end, false});
        }
        previous_match = m.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) {
          pieces.back().start = it->start;
        } else {
          pieces.push_back({it->start, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
  }
  std::vector<NormalizedText> out;
  out.reserve(pieces.size());
  for (const Piece& p : pieces) {
    if (!p.remove) out.push_back(text.Slice(p.start, p.end));
  }
  return out;
}

void PreTokenizedText::SplitEach(
    const std::function<std::vector<NormalizedText>(NormalizedText)>& fn) {
  std::vector<Split> result;
  result.reserve(splits.size() * 4);
  for (Split& split : splits) {
    if (split.tokens.has_value()) {
      result.push_back(std::move(split));
      continue;
    }
    for (NormalizedText& piece : fn(std::move(split.normalized))) {
      if (!piece.empty()) result.push_back({std::move(piece), std::nullopt});
    }
  }
  splits = std::move(result);
}

void PreTokenizedText::NormalizeEach(
    const std::function<void(NormalizedText*)>& fn) {
  for (Split& split : splits) {
    if (!split.tokens.has_value()) fn(&split.normalized);
  }
}

void SplitOnChars(PreTokenizedText* text, bool (*is_match)(char32_t),
                  SplitBehavior behavior) {
  text->SplitEach([&](NormalizedText normalized) {
    return SplitByMatches(
        normalized, FindCharMatches(normalized.get(), is_match), behavior);
  });
}

}  // namespace attnserve::core::tokenizers
