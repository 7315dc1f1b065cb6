// Fuzzes the tokenizer file parsers: the first byte picks the file, the rest
// is its bytes.
//   0: vocab.txt -> ParseVocabTxt -> MakeSpecFromVocab -> tokenizer
//   1: tokenizer.json -> ParseTokenizerJson -> tokenizer
//   2: tokenizer_config.json -> ParseTokenizerConfigJson
//   3: special_tokens_map.json -> ParseSpecialTokensMapJson
// A tokenizer that builds must tokenize a fixed sentence into in-range ids.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/tokenizer_files.h"
#include "core/tokenizer/wordpiece_tokenizer.h"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

void CheckTokenizer(core::BertTokenizerSpec spec) {
  absl::StatusOr<core::WordPieceTokenizer> tokenizer =
      core::WordPieceTokenizer::Create(std::move(spec));
  if (!tokenizer.ok()) {
    FUZZ_CHECK(!tokenizer.status().message().empty());
    return;
  }
  const absl::string_view text =
      "Hello, [MASK] world! Ünïcödé 中文 tokenization isn't hard.";
  absl::StatusOr<core::Tokenization> tokens =
      tokenizer->Tokenize(text, core::TokenizeOptions{});
  FUZZ_CHECK(tokens.ok());
  for (const core::Token& token : tokens->tokens) {
    FUZZ_CHECK(token.id >= 0 &&
               static_cast<size_t>(token.id) < tokenizer->vocab_size());
    FUZZ_CHECK(token.start <= token.end && token.end <= text.size());
  }
}

void FuzzVocabTxt(absl::string_view bytes) {
  absl::StatusOr<std::vector<std::string>> vocab = core::ParseVocabTxt(bytes);
  if (!vocab.ok()) return;
  FUZZ_CHECK(!vocab->empty());
  absl::StatusOr<core::BertTokenizerSpec> spec =
      core::MakeSpecFromVocab(*std::move(vocab), core::TokenizerConfigJson{});
  if (!spec.ok()) return;
  CheckTokenizer(*std::move(spec));
}

void FuzzTokenizerJson(absl::string_view bytes) {
  absl::StatusOr<core::BertTokenizerSpec> spec =
      core::ParseTokenizerJson(bytes);
  if (!spec.ok()) {
    FUZZ_CHECK(!spec.status().message().empty());
    return;
  }
  CheckTokenizer(*std::move(spec));
}

void FuzzTokenizerConfigJson(absl::string_view bytes) {
  absl::StatusOr<core::TokenizerConfigJson> config =
      core::ParseTokenizerConfigJson(bytes);
  if (!config.ok()) {
    FUZZ_CHECK(!config.status().message().empty());
    return;
  }
  FUZZ_CHECK(config->model_max_length >= 0);
}

void FuzzSpecialTokensMapJson(absl::string_view bytes) {
  core::TokenizerConfigJson config;
  absl::Status status = core::ParseSpecialTokensMapJson(bytes, &config);
  if (!status.ok()) FUZZ_CHECK(!status.message().empty());
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      attnserve::fuzz::FuzzVocabTxt(bytes);
      break;
    case 1:
      attnserve::fuzz::FuzzTokenizerJson(bytes);
      break;
    case 2:
      attnserve::fuzz::FuzzTokenizerConfigJson(bytes);
      break;
    default:
      attnserve::fuzz::FuzzSpecialTokensMapJson(bytes);
      break;
  }
  return 0;
}
