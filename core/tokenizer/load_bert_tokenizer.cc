#include "core/tokenizer/load_bert_tokenizer.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/tokenizer/tokenizer_files.h"

namespace attnserve::core {
namespace {

// Tokenizer files of real models are at most tens of MB (tokenizer.json of a
// multilingual model is ~20 MB); a larger file is refused before reading it.
constexpr int64_t kMaxTokenizerFileBytes = int64_t{256} << 20;

// The file's bytes, or nullopt when it does not exist. Anything else that is
// not a readable regular file (a directory, a FIFO that would block, no read
// permission, too large) is an error naming the file.
absl::StatusOr<std::optional<std::string>> ReadOptionalFile(
    const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path, kMaxTokenizerFileBytes);
  if (absl::IsNotFound(bytes.status())) return std::optional<std::string>();
  if (!bytes.ok()) return bytes.status();
  return std::optional<std::string>(*std::move(bytes));
}

absl::Status InDir(const std::string& model_dir, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(model_dir, "/", status.message()));
}

absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>> Build(
    const std::string& model_dir, BertTokenizerSpec spec) {
  absl::StatusOr<WordPieceTokenizer> tokenizer =
      WordPieceTokenizer::Create(std::move(spec));
  if (!tokenizer.ok()) return InDir(model_dir, tokenizer.status());
  return std::make_shared<const WordPieceTokenizer>(*std::move(tokenizer));
}

absl::StatusOr<TokenizerConfigJson> ReadConfig(const std::string& model_dir) {
  TokenizerConfigJson config;
  absl::StatusOr<std::optional<std::string>> config_bytes =
      ReadOptionalFile(model_dir + "/tokenizer_config.json");
  if (!config_bytes.ok()) return config_bytes.status();
  if (config_bytes->has_value()) {
    absl::StatusOr<TokenizerConfigJson> parsed =
        ParseTokenizerConfigJson(**config_bytes);
    if (!parsed.ok()) return InDir(model_dir, parsed.status());
    config = *std::move(parsed);
  }
  return config;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>>
LoadBertTokenizerFromVocab(const std::string& model_dir) {
  absl::StatusOr<std::optional<std::string>> vocab_bytes =
      ReadOptionalFile(model_dir + "/vocab.txt");
  if (!vocab_bytes.ok()) return vocab_bytes.status();
  if (!vocab_bytes->has_value()) {
    return absl::NotFoundError(
        absl::StrCat(model_dir, ": has neither tokenizer.json nor vocab.txt"));
  }
  absl::StatusOr<std::vector<std::string>> vocab = ParseVocabTxt(**vocab_bytes);
  if (!vocab.ok()) return InDir(model_dir, vocab.status());
  absl::StatusOr<TokenizerConfigJson> config = ReadConfig(model_dir);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::optional<std::string>> map_bytes =
      ReadOptionalFile(model_dir + "/special_tokens_map.json");
  if (!map_bytes.ok()) return map_bytes.status();
  if (map_bytes->has_value()) {
    if (absl::Status s = ParseSpecialTokensMapJson(**map_bytes, &*config);
        !s.ok())
      return InDir(model_dir, s);
  }
  absl::StatusOr<BertTokenizerSpec> spec =
      MakeSpecFromVocab(*std::move(vocab), *config);
  if (!spec.ok()) return InDir(model_dir, spec.status());
  return Build(model_dir, *std::move(spec));
}

absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>> LoadBertTokenizer(
    const std::string& model_dir) {
  absl::StatusOr<std::optional<std::string>> json_bytes =
      ReadOptionalFile(model_dir + "/tokenizer.json");
  if (!json_bytes.ok()) return json_bytes.status();
  if (!json_bytes->has_value()) return LoadBertTokenizerFromVocab(model_dir);
  absl::StatusOr<BertTokenizerSpec> spec = ParseTokenizerJson(**json_bytes);
  if (!spec.ok()) return InDir(model_dir, spec.status());
  absl::StatusOr<TokenizerConfigJson> config = ReadConfig(model_dir);
  if (!config.ok()) return config.status();
  spec->model_max_length = config->model_max_length;
  return Build(model_dir, *std::move(spec));
}

absl::StatusOr<std::shared_ptr<const WordPieceTokenizer>> MakeBertTokenizer(
    std::vector<std::string> vocab, const TokenizerConfigJson& config) {
  absl::StatusOr<BertTokenizerSpec> spec =
      MakeSpecFromVocab(std::move(vocab), config);
  if (!spec.ok()) return spec.status();
  absl::StatusOr<WordPieceTokenizer> tokenizer =
      WordPieceTokenizer::Create(*std::move(spec));
  if (!tokenizer.ok()) return tokenizer.status();
  return std::make_shared<const WordPieceTokenizer>(*std::move(tokenizer));
}

}  // namespace attnserve::core
