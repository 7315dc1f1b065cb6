#include "core/tokenizer/decoders/decoders.h"

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/tokenizer/pre_tokenized_text.h"
#include "core/tokenizer/pre_tokenizers/byte_level.h"
#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {
namespace {

std::vector<char32_t> Chars(const std::string& text) {
  std::vector<char32_t> chars;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    chars.push_back(DecodeUtf8(text, pos, &length));
    pos += length;
  }
  return chars;
}

// String::from_utf8_lossy: each maximal invalid sequence -> U+FFFD.
std::string FromUtf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const int64_t bad = FirstInvalidUtf8(bytes.substr(pos));
    if (bad < 0) {
      out.append(bytes.substr(pos));
      break;
    }
    out.append(bytes.substr(pos, static_cast<size_t>(bad)));
    pos += static_cast<size_t>(bad);
    // The longest prefix of a valid sequence counts as one error (WHATWG /
    // Rust's maximal subpart rule).
    const auto b0 = static_cast<unsigned char>(bytes[pos]);
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      need = 2;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      need = 3;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    }
    size_t consumed = 1;
    for (size_t k = 0; k < need && pos + consumed < bytes.size(); ++k) {
      const auto b = static_cast<unsigned char>(bytes[pos + consumed]);
      if (b < lo || b > hi) break;
      lo = 0x80;
      hi = 0xBF;
      ++consumed;
    }
    out += "\xEF\xBF\xBD";
    pos += consumed;
  }
  return out;
}

}  // namespace

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

void ByteLevelDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  std::string bytes;
  for (const std::string& token : *tokens) {
    std::string mapped;
    bool all_mapped = true;
    for (char32_t c : Chars(token)) {
      const int b = ByteLevelByte(c);
      if (b < 0) {
        all_mapped = false;
        break;
      }
      mapped.push_back(static_cast<char>(b));
    }
    bytes += all_mapped ? mapped : token;
  }
  *tokens = {FromUtf8Lossy(bytes)};
}

void MetaspaceDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (size_t i = 0; i < tokens->size(); ++i) {
    std::string out;
    for (char32_t c : Chars((*tokens)[i])) {
      if (c == replacement_) {
        if (i == 0 && prepend_scheme_ != PrependScheme::kNever) continue;
        out.push_back(' ');
      } else {
        AppendUtf8(c, &out);
      }
    }
    (*tokens)[i] = std::move(out);
  }
}

void ByteFallbackDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  std::vector<std::string> out;
  std::string pending;
  size_t pending_count = 0;
  auto flush = [&] {
    if (pending_count == 0) return;
    if (FirstInvalidUtf8(pending) < 0) {
      out.push_back(pending);
    } else {
      for (size_t k = 0; k < pending_count; ++k) out.push_back("\xEF\xBF\xBD");
    }
    pending.clear();
    pending_count = 0;
  };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::string& token : *tokens) {
    int byte = -1;
    if (token.size() == 6 && absl::StartsWith(token, "<0x") &&
        token.back() == '>' && hex(token[3]) >= 0 && hex(token[4]) >= 0) {
      byte = hex(token[3]) * 16 + hex(token[4]);
    }
    if (byte >= 0) {
      pending.push_back(static_cast<char>(byte));
      ++pending_count;
    } else {
      flush();
      out.push_back(std::move(token));
    }
  }
  flush();
  *tokens = std::move(out);
}

void FuseDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  *tokens = {absl::StrJoin(*tokens, "")};
}

void StripDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (std::string& token : *tokens) {
    const std::vector<char32_t> chars = Chars(token);
    size_t start_cut = 0;
    for (size_t i = 0; i < chars.size() && i < start_; ++i) {
      if (chars[i] != content_) break;
      start_cut = i + 1;
    }
    size_t stop_cut = chars.size();
    for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
      const size_t index = chars.size() - i - 1;
      if (chars[index] != content_) break;
      stop_cut = index;
    }
    std::string out;
    for (size_t i = start_cut; i < stop_cut; ++i) AppendUtf8(chars[i], &out);
    token = std::move(out);
  }
}

void ReplaceDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (std::string& token : *tokens) {
    std::string out;
    for (const PatternMatch& m : FindRegexMatches(*pattern_, token)) {
      if (m.is_match) {
        out += content_;
      } else {
        out.append(token, m.start, m.end - m.start);
      }
    }
    token = std::move(out);
  }
}

void BpeDecoder::DecodeChain(std::vector<std::string>* tokens) const {
  for (size_t i = 0; i < tokens->size(); ++i) {
    const char* replacement = i + 1 == tokens->size() ? "" : " ";
    if (suffix_.empty()) {
      // Rust's str::replace("", r): r before every character and at the end.
      std::string out = replacement;
      for (char32_t c : Chars((*tokens)[i])) {
        AppendUtf8(c, &out);
        out += replacement;
      }
      (*tokens)[i] = std::move(out);
      continue;
    }
    (*tokens)[i] = absl::StrReplaceAll((*tokens)[i], {{suffix_, replacement}});
  }
}

}  // namespace attnserve::core::tokenizers
