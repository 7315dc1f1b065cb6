#include "core/tokenizer/decoders/wordpiece.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"

namespace attnserve::core::tokenizers {

std::string CleanUpTokenization(std::string text) {
  // In this order, each over the whole text (HF's chained replace calls).
  static constexpr std::pair<const char*, const char*> kReplacements[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
      {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
      {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kReplacements) {
    text = absl::StrReplaceAll(text, {{from, to}});
  }
  return text;
}

void WordPieceDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (size_t i = 0; i < tokens->size(); ++i) {
    std::string& token = (*tokens)[i];
    if (i != 0) {
      if (absl::StartsWith(token, prefix_)) {
        token.erase(0, prefix_.size());
      } else {
        token.insert(0, " ");
      }
    }
    if (cleanup_) token = CleanUpTokenization(std::move(token));
  }
}

}  // namespace attnserve::core::tokenizers
