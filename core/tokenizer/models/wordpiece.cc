#include "core/tokenizer/models/wordpiece.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/tokenizer/json_fields.h"
#include "core/tokenizer/unicode.h"

namespace attnserve::core::tokenizers {
namespace {

size_t CountChars(std::string_view text) {
  size_t count = 0;
  for (unsigned char b : text) count += (b & 0xC0) != 0x80;
  return count;
}

// Ids must index a table: at most this far past the number of pieces.
constexpr int64_t kMaxIdSlack = 1 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<WordPiece>> WordPiece::FromJson(
    const nlohmann::json& model, absl::string_view path) {
  namespace jf = json_fields;
  std::unique_ptr<WordPiece> wp(new WordPiece);
  Options& o = wp->options_;
  int64_t max_chars = static_cast<int64_t>(o.max_input_chars_per_word);
  RETURN_IF_ERROR(jf::String(model, path, "unk_token", &o.unk_token));
  RETURN_IF_ERROR(jf::String(model, path, "continuing_subword_prefix",
                             &o.continuing_subword_prefix));
  RETURN_IF_ERROR(jf::Int(model, path, "max_input_chars_per_word", &max_chars));
  if (max_chars < 0) {
    return jf::Error(jf::Child(path, "max_input_chars_per_word"),
                     absl::StrCat("is ", max_chars, ", expected >= 0"));
  }
  o.max_input_chars_per_word = static_cast<size_t>(max_chars);
  absl::StatusOr<const nlohmann::json*> vocab =
      jf::Required(model, path, "vocab");
  if (!vocab.ok()) return vocab.status();
  const std::string vocab_path = jf::Child(path, "vocab");
  if (!(*vocab)->is_object()) {
    return jf::Error(vocab_path, absl::StrCat("is ", jf::Describe(**vocab),
                                              ", expected an object"));
  }
  const int64_t limit = static_cast<int64_t>((*vocab)->size()) + kMaxIdSlack;
  for (const auto& [token, id] : (*vocab)->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() >= limit) {
      return jf::Error(jf::Child(vocab_path, token),
                       absl::StrCat("is ", jf::Describe(id),
                                    ", expected an id in [0, ", limit, ")"));
    }
    const auto index = static_cast<size_t>(id.get<int64_t>());
    if (index >= wp->id_to_token_.size()) wp->id_to_token_.resize(index + 1);
    wp->id_to_token_[index] = token;
    wp->token_to_id_[token] = static_cast<int32_t>(index);
  }
  if (absl::Status s = wp->Finish(); !s.ok()) {
    return jf::Error(jf::Child(path, "unk_token"), s.message());
  }
  return wp;
}

absl::StatusOr<std::unique_ptr<WordPiece>> WordPiece::FromVocab(
    std::vector<std::string> vocab, Options options) {
  std::unique_ptr<WordPiece> wp(new WordPiece);
  wp->options_ = std::move(options);
  wp->token_to_id_.reserve(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id) {
    wp->token_to_id_[vocab[id]] = static_cast<int32_t>(id);
  }
  wp->id_to_token_ = std::move(vocab);
  if (absl::Status s = wp->Finish(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("unk_token ", s.message()));
  }
  return wp;
}

absl::Status WordPiece::Finish() {
  for (const auto& [token, id] : token_to_id_) {
    max_piece_chars_ = std::max(max_piece_chars_, CountChars(token));
  }
  auto unk = token_to_id_.find(options_.unk_token);
  if (unk == token_to_id_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", options_.unk_token, "\" is not in the vocabulary"));
  }
  unk_id_ = unk->second;
  return absl::OkStatus();
}

absl::Status WordPiece::Tokenize(std::string_view word,
                                 std::vector<ModelToken>* out) const {
  const size_t num_chars = CountChars(word);
  if (num_chars > options_.max_input_chars_per_word) {
    out->push_back({unk_id_, options_.unk_token, 0, word.size()});
    return absl::OkStatus();
  }
  // Byte offset of each char boundary.
  std::vector<size_t> bounds;
  bounds.reserve(num_chars + 1);
  for (size_t pos = 0; pos < word.size();) {
    bounds.push_back(pos);
    size_t length = 0;
    DecodeUtf8(word, pos, &length);
    pos += length;
  }
  bounds.push_back(word.size());
  const size_t first_new = out->size();
  std::string key;
  size_t start = 0;  // char index
  while (start < num_chars) {
    // Longest piece first; no piece has more than max_piece_chars_ chars.
    const size_t max_end =
        std::min(num_chars, start + std::max<size_t>(max_piece_chars_, 1));
    size_t end = max_end;
    std::optional<int32_t> found;
    for (; end > start; --end) {
      key.clear();
      if (start > 0) key = options_.continuing_subword_prefix;
      key.append(word, bounds[start], bounds[end] - bounds[start]);
      auto it = token_to_id_.find(absl::string_view(key));
      if (it != token_to_id_.end()) {
        found = it->second;
        break;
      }
    }
    if (!found) {
      out->resize(first_new);
      out->push_back({unk_id_, options_.unk_token, 0, word.size()});
      return absl::OkStatus();
    }
    out->push_back({*found, key, bounds[start], bounds[end]});
    start = end;
  }
  return absl::OkStatus();
}

std::optional<int32_t> WordPiece::TokenToId(std::string_view token) const {
  auto it = token_to_id_.find(absl::string_view(token.data(), token.size()));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> WordPiece::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) {
    return std::nullopt;
  }
  const std::string& token = id_to_token_[static_cast<size_t>(id)];
  if (token.empty() && !token_to_id_.contains("")) {
    return std::nullopt;
  }
  return std::string_view(token);
}

}  // namespace attnserve::core::tokenizers
