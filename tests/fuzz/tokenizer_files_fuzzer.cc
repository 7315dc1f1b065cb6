// Fuzzes the tokenizer file parsers: the first byte picks the file, the rest
// is its bytes.
//   0: vocab.txt -> ParseVocabTxt -> MakeTokenizerFromVocab
//   1: tokenizer.json -> ParseTokenizerJson
//   2: tokenizer_config.json -> ParseTokenizerConfigJson
//   3: special_tokens_map.json -> ParseSpecialTokensMapJson
// A tokenizer that builds must tokenize a fixed sentence into in-range ids.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tokenizer/tokenizer_files.h"
#include "core/tokenizer/tokenizer_json.h"
#include "core/tokenizer/vocab_txt.h"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

// A tokenizer that built: a fixed sentence and pair encode into in-range
// ids with offsets inside their text, and decode.
void CheckTokenizer(
    const absl::StatusOr<std::unique_ptr<core::tokenizers::Tokenizer>>&
        tokenizer) {
  if (!tokenizer.ok()) {
    FUZZ_CHECK(tokenizer.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!tokenizer.status().message().empty());
    return;
  }
  const std::string_view text =
      "Hello, [MASK] world! Ünïcödé 中文 tokenization isn't hard.";
  absl::StatusOr<core::tokenizers::Encoding> tokens =
      (*tokenizer)->EncodePair(text, text, {});
  if (!tokens.ok()) {
    // Only a post-processor that cannot take a pair may refuse.
    FUZZ_CHECK(tokens.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  for (size_t i = 0; i < tokens->size(); ++i) {
    FUZZ_CHECK(tokens->offsets[i].start <= tokens->offsets[i].end &&
               tokens->offsets[i].end <= text.size());
  }
  (*tokenizer)->Decode(tokens->ids, {});
}

void FuzzVocabTxt(absl::string_view bytes) {
  absl::StatusOr<std::vector<std::string>> vocab = core::ParseVocabTxt(bytes);
  if (!vocab.ok()) return;
  FUZZ_CHECK(!vocab->empty());
  CheckTokenizer(core::tokenizers::MakeTokenizerFromVocab(
      *std::move(vocab), core::TokenizerConfigJson{}));
}

void FuzzTokenizerJson(absl::string_view bytes) {
  CheckTokenizer(core::tokenizers::ParseTokenizerJson(
      std::string_view(bytes.data(), bytes.size())));
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
