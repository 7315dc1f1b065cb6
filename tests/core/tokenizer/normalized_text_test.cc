// NormalizedText's alignment rules (HF's NormalizedString) and the Oniguruma
// wrapper's match iteration.
#include "core/tokenizer/normalized_text.h"

#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/pre_tokenized_text.h"
#include "core/tokenizer/regex.h"
#include "gtest/gtest.h"

namespace attnserve::core::tokenizers {
namespace {

// The original span of every normalized character, as "start:end" strings.
std::vector<std::string> Spans(const NormalizedText& text) {
  std::vector<std::string> spans;
  const std::string& s = text.get();
  for (size_t pos = 0; pos < s.size();) {
    size_t length = 0;
    DecodeUtf8(s, pos, &length);
    const Alignment a = text.alignments()[pos];
    spans.push_back(std::to_string(a.start) + ":" + std::to_string(a.end));
    for (size_t i = pos; i < pos + length; ++i) {
      EXPECT_EQ(text.alignments()[i].start, a.start) << "byte " << i;
    }
    pos += length;
  }
  return spans;
}

TEST(NormalizedTextTest, StartsAlignedCharByChar) {
  NormalizedText text("aé中");
  EXPECT_EQ(text.get(), "aé中");
  EXPECT_EQ(Spans(text), (std::vector<std::string>{"0:1", "1:3", "3:6"}));
  EXPECT_EQ(text.original_start(), 0u);
  EXPECT_EQ(text.original_end(), 6u);
}

TEST(NormalizedTextTest, DecomposedMarksKeepTheirCharactersSpan) {
  NormalizedText text("xé");
  text.Unicode(UnicodeForm::kNfd);
  EXPECT_EQ(text.get(), "xe\u0301");
  EXPECT_EQ(Spans(text), (std::vector<std::string>{"0:1", "1:3", "1:3"}));
  text.Unicode(UnicodeForm::kNfc);
  EXPECT_EQ(text.get(), "xé");
  EXPECT_EQ(Spans(text), (std::vector<std::string>{"0:1", "1:3"}));
}

TEST(NormalizedTextTest, FilterDropsCharactersAndTheirSpans) {
  NormalizedText text(
      "\x01"
      "ab\x02"
      "c");
  text.Filter([](char32_t c) { return c >= 'a'; });
  EXPECT_EQ(text.get(), "abc");
  EXPECT_EQ(Spans(text), (std::vector<std::string>{"1:2", "2:3", "4:5"}));
}

TEST(NormalizedTextTest, LowercaseCanGrowACharacter) {
  NormalizedText text("İx");
  text.Lowercase();
  EXPECT_EQ(text.get(), "i\u0307x");
  EXPECT_EQ(Spans(text), (std::vector<std::string>{"0:2", "0:2", "2:3"}));
}

TEST(NormalizedTextTest, ReplaceAlignsToTheMatchsLastCharacter) {
  NormalizedText text("a  b");
  text.Replace({{1, 3}}, "__");
  EXPECT_EQ(text.get(), "a__b");
  EXPECT_EQ(Spans(text),
            (std::vector<std::string>{"0:1", "2:3", "2:3", "3:4"}));
}

TEST(NormalizedTextTest, PrependAlignsToTheFirstCharacter) {
  NormalizedText text("éa");
  text.Prepend("▁");
  EXPECT_EQ(text.get(), "▁éa");
  EXPECT_EQ(Spans(text), (std::vector<std::string>{"0:2", "0:2", "2:3"}));
  NormalizedText empty("");
  empty.Prepend("▁");
  EXPECT_EQ(empty.get(), "");
}

TEST(NormalizedTextTest, StripRemovesWhiteSpaceAtTheEnds) {
  NormalizedText text(" \u3000ab\t ");
  text.Strip(true, true);
  EXPECT_EQ(text.get(), "ab");
  EXPECT_EQ(Spans(text), (std::vector<std::string>{"4:5", "5:6"}));
}

TEST(NormalizedTextTest, SlicesKnowTheirOriginalSpan) {
  NormalizedText text("ab cd");
  text.Lowercase();
  NormalizedText slice = text.Slice(3, 5);
  EXPECT_EQ(slice.get(), "cd");
  EXPECT_EQ(slice.original_start(), 3u);
  EXPECT_EQ(slice.original_end(), 5u);
  EXPECT_EQ(slice.OriginalSpan(0, 2), (std::pair<size_t, size_t>(3, 5)));
  EXPECT_EQ(slice.OriginalSpan(1, 1), (std::pair<size_t, size_t>(4, 4)));
}

TEST(RegexTest, FindAllSkipsAnEmptyMatchRightAfterAMatch) {
  absl::StatusOr<std::shared_ptr<const Regex>> regex = Regex::Create("a*");
  ASSERT_TRUE(regex.ok()) << regex.status();
  // As the onig crate: "aa" at 0; the empty match at 2, right after it, is
  // skipped; then empty matches at 3 and at 5 (the end: "é" is 2 bytes).
  EXPECT_EQ((*regex)->FindAll("aabé"),
            (std::vector<std::pair<size_t, size_t>>{{0, 2}, {3, 3}, {5, 5}}));
  EXPECT_EQ((*regex)->FindAll(""),
            (std::vector<std::pair<size_t, size_t>>{{0, 0}}));
}

TEST(RegexTest, EscapeMatchesLiterally) {
  absl::StatusOr<std::shared_ptr<const Regex>> regex =
      Regex::Create(Regex::Escape("a.b*(c)"));
  ASSERT_TRUE(regex.ok()) << regex.status();
  EXPECT_EQ((*regex)->FindAll("xa.b*(c)axbbc"),
            (std::vector<std::pair<size_t, size_t>>{{1, 8}}));
  EXPECT_FALSE(Regex::Create("(").ok());
}

// The matches of `pattern` in `text` as substrings.
std::vector<std::string> Matches(const std::string& pattern,
                                 const std::string& text) {
  absl::StatusOr<std::shared_ptr<const Regex>> regex = Regex::Create(pattern);
  EXPECT_TRUE(regex.ok()) << pattern << ": " << regex.status();
  std::vector<std::string> out;
  if (!regex.ok()) return out;
  for (const auto& [start, end] : (*regex)->FindAll(text)) {
    if (end > start) out.push_back(text.substr(start, end - start));
  }
  return out;
}

TEST(RegexTest, GeneralCategoriesAreThoseOfHuggingFacesOniguruma) {
  // U+16D6B KIRAT RAI SIGN VIRAMA (Lm, Unicode 16.0), U+11F04 KAWI LETTER A
  // (Lo, 15.0), U+1E4F1 NAG MUNDARI DIGIT ONE (Nd, 15.0): Debian's libonig
  // (Unicode 14.0) has none of them; HF's Oniguruma (16.0) has all three.
  const std::string kirat = "\U00016D6B", kawi = "\U00011F04",
                    digit = "\U0001E4F1", katakana = "\u30D9";
  EXPECT_EQ(Matches(R"(\p{L}+)", kirat + katakana + " " + kawi),
            (std::vector<std::string>{kirat + katakana, kawi}));
  EXPECT_EQ(Matches(R"(\p{Letter}+)", kirat),
            (std::vector<std::string>{kirat}));
  EXPECT_EQ(Matches(R"(\p{modifier_letter})", "a" + kirat),
            (std::vector<std::string>{kirat}));
  EXPECT_EQ(Matches(R"(\p{N}\p{Nd})", digit + digit),
            (std::vector<std::string>{digit + digit}));
  // Negated: \P{L}, \p{^L}; inside a bracket (GPT-2's pattern).
  EXPECT_TRUE(Matches(R"(\P{L})", kirat).empty());
  EXPECT_TRUE(Matches(R"(\p{^L})", kirat).empty());
  EXPECT_EQ(Matches(R"( ?[^\s\p{L}\p{N}]+)", "x" + kirat + "!? " + digit),
            (std::vector<std::string>{"!?"}));
  // Escaped backslashes stay literal; other properties keep libonig's tables.
  EXPECT_EQ(Matches(R"(\\p{L})", R"(a\p{L}b)"),
            (std::vector<std::string>{R"(\p{L})"}));
  EXPECT_EQ(Matches(R"(\p{Han}+)", "a中文b"),
            (std::vector<std::string>{"中文"}));
  EXPECT_EQ(WithHfUnicodeProperties(R"(\p{Xyz}\w)"), R"(\p{Xyz}\w)");
}

TEST(SplitByMatchesTest, BehaviorsAsHuggingFace) {
  const NormalizedText text("a-b--c");
  auto pieces = [&](SplitBehavior behavior) {
    std::vector<std::string> out;
    for (const NormalizedText& piece : SplitByMatches(
             text,
             FindCharMatches(text.get(), [](char32_t c) { return c == '-'; }),
             behavior)) {
      out.push_back(piece.get());
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(SplitBehavior::kRemoved), (V{"a", "b", "c"}));
  EXPECT_EQ(pieces(SplitBehavior::kIsolated),
            (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(pieces(SplitBehavior::kMergedWithPrevious),
            (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(pieces(SplitBehavior::kMergedWithNext), (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(pieces(SplitBehavior::kContiguous), (V{"a", "-", "b", "--", "c"}));
}

// HF's character classes come from older Unicode tables than utf8proc's;
// unicode_differences.inc (from npm tokenizers) restores them.
TEST(UnicodeTablesTest, FollowHuggingFacesOlderTables) {
  EXPECT_FALSE(IsPunctuation(0x061D));  // Po since Unicode 14; unassigned in HF
  EXPECT_FALSE(IsPunctuation(0x2E52));
  EXPECT_TRUE(IsPunctuation(0x166D));  // Po in HF's tables, So today
  EXPECT_TRUE(IsPunctuation(0x2014));
  EXPECT_FALSE(IsOther(0x0890));  // Cf since Unicode 14; unassigned in HF
  EXPECT_TRUE(IsOther(0x200B));
  EXPECT_TRUE(IsOther(0x0001));
  EXPECT_FALSE(IsMarkNonspacing(0x07FD));  // Mn since Unicode 11
  EXPECT_TRUE(IsMarkNonspacing(0x0301));
  EXPECT_FALSE(IsCombiningMark(0x07FD));
  EXPECT_TRUE(IsCombiningMark(0x0903));  // Mc
}

}  // namespace
}  // namespace attnserve::core::tokenizers
