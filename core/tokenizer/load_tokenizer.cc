#include "core/tokenizer/load_tokenizer.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/tokenizer/tokenizer_files.h"
#include "core/tokenizer/tokenizer_json.h"
#include "core/tokenizer/vocab_txt.h"

namespace attnserve::core::tokenizers {
namespace {

// Tokenizer files of real models are at most tens of MB (tokenizer.json of a
// multilingual model is ~20 MB); a larger file is refused before reading it.
constexpr int64_t kMaxTokenizerFileBytes = int64_t{256} << 20;

// The file's bytes, or nullopt when it does not exist; anything else that
// is not a readable regular file is an error naming the file.
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

absl::StatusOr<TokenizerConfigJson> ReadConfig(const std::string& model_dir) {
  TokenizerConfigJson config;
  absl::StatusOr<std::optional<std::string>> bytes =
      ReadOptionalFile(model_dir + "/tokenizer_config.json");
  if (!bytes.ok()) return bytes.status();
  if (bytes->has_value()) {
    absl::StatusOr<TokenizerConfigJson> parsed =
        ParseTokenizerConfigJson(**bytes);
    if (!parsed.ok()) return InDir(model_dir, parsed.status());
    config = *std::move(parsed);
  }
  return config;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Tokenizer>> LoadTokenizerFromVocab(
    const std::string& model_dir) {
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
        !s.ok()) {
      return InDir(model_dir, s);
    }
  }
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      MakeTokenizerFromVocab(*std::move(vocab), *config);
  if (!tokenizer.ok()) return InDir(model_dir, tokenizer.status());
  return std::shared_ptr<const Tokenizer>(*std::move(tokenizer));
}

absl::StatusOr<std::shared_ptr<const Tokenizer>> LoadTokenizer(
    const std::string& model_dir) {
  absl::StatusOr<std::optional<std::string>> json_bytes =
      ReadOptionalFile(model_dir + "/tokenizer.json");
  if (!json_bytes.ok()) return json_bytes.status();
  if (!json_bytes->has_value()) return LoadTokenizerFromVocab(model_dir);
  absl::StatusOr<TokenizerConfigJson> config = ReadConfig(model_dir);
  if (!config.ok()) return config.status();
  TokenizerSettings settings;
  settings.model_max_length = config->model_max_length;
  settings.clean_up_tokenization_spaces = config->clean_up_tokenization_spaces;
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      ParseTokenizerJson(**json_bytes, settings);
  if (!tokenizer.ok()) return InDir(model_dir, tokenizer.status());
  return std::shared_ptr<const Tokenizer>(*std::move(tokenizer));
}

}  // namespace attnserve::core::tokenizers
