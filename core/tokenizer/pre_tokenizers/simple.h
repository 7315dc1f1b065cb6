#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SIMPLE_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SIMPLE_H_

// The character-class pre-tokenizers: BertPreTokenizer, Whitespace,
// WhitespaceSplit, Punctuation, Digits; and Sequence.

#include <memory>
#include <utility>
#include <vector>

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

// Splits on White_Space (removed), then isolates each punctuation char.
class BertPreTokenizer final : public PreTokenizer {
 public:
  void PreTokenize(PreTokenizedText* text) const override;
};

// Whitespace: the runs of `\w+|[^\w\s]+`, the rest removed.
class WhitespacePreTokenizer final : public PreTokenizer {
 public:
  WhitespacePreTokenizer();
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  std::shared_ptr<const Regex> regex_;
};

// WhitespaceSplit: splits on White_Space, removed.
class WhitespaceSplitPreTokenizer final : public PreTokenizer {
 public:
  void PreTokenize(PreTokenizedText* text) const override;
};

// Punctuation: each punctuation char split off per `behavior`.
class PunctuationPreTokenizer final : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(SplitBehavior behavior)
      : behavior_(behavior) {}
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  SplitBehavior behavior_;
};

// Digits: numeric chars (Nd, Nl, No) isolated one by one, or in runs.
class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits)
      : individual_digits_(individual_digits) {}
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  bool individual_digits_;
};

// CharDelimiterSplit: splits on one character, removed.
class CharDelimiterSplitPreTokenizer final : public PreTokenizer {
 public:
  explicit CharDelimiterSplitPreTokenizer(char32_t delimiter)
      : delimiter_(delimiter) {}
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  char32_t delimiter_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(
      std::vector<std::unique_ptr<const PreTokenizer>> pre_tokenizers)
      : pre_tokenizers_(std::move(pre_tokenizers)) {}
  void PreTokenize(PreTokenizedText* text) const override {
    for (const auto& p : pre_tokenizers_) p->PreTokenize(text);
  }

 private:
  std::vector<std::unique_ptr<const PreTokenizer>> pre_tokenizers_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_SIMPLE_H_
