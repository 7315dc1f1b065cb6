// Fuzzes the BERT tokenizer pipeline on arbitrary bytes (invalid UTF-8
// included) with the demo model's vocabulary. The first byte picks the
// normaliser options, special tokens and a max_length; the rest is the text.
// Checks: invalid UTF-8 is INVALID_ARGUMENT, offsets lie inside the text,
// truncation keeps at most max_length tokens, ids are in the vocabulary and
// spelled as it spells them, and a pair encodes too.
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "core/models/demo/demo_model.h"
#include "core/tokenizer/vocab_txt.h"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

// Four tokenizers over the demo vocabulary: uncased (default), cased,
// uncased keeping accents, cased without CJK splitting.
const core::tokenizers::Tokenizer& Tokenizer(int variant) {
  static const std::unique_ptr<core::tokenizers::Tokenizer>* const tokenizers =
      [] {
        absl::StatusOr<core::DemoModel> demo = core::MakeDemoModel();
        FUZZ_CHECK(demo.ok());
        auto* made = new std::unique_ptr<core::tokenizers::Tokenizer>[4];
        for (int v = 0; v < 4; ++v) {
          core::TokenizerConfigJson config;
          config.do_lower_case = v == 0 || v == 2;
          if (v == 2) config.strip_accents = false;
          config.tokenize_chinese_chars = v != 3;
          auto tokenizer =
              core::tokenizers::MakeTokenizerFromVocab(demo->vocab, config);
          FUZZ_CHECK(tokenizer.ok());
          made[v] = *std::move(tokenizer);
        }
        return made;
      }();
  return *tokenizers[variant];
}

void Fuzz(ByteReader& reader) {
  const uint8_t options_byte = reader.Read<uint8_t>();
  const core::tokenizers::Tokenizer& tokenizer = Tokenizer(options_byte & 3);
  core::tokenizers::EncodeOptions options;
  options.add_special_tokens = options_byte & 4;
  // 0 (no limit) or 2..33.
  options.max_length = options_byte >> 3 == 0 ? 0 : 1 + (options_byte >> 3);
  const absl::string_view text = reader.Rest();
  const std::string_view view(text.data(), text.size());

  absl::StatusOr<core::tokenizers::Encoding> tokens =
      tokenizer.Encode(view, options);
  if (!tokens.ok()) {
    FUZZ_CHECK(tokens.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(tokens->untruncated_length >= tokens->size());
  if (options.max_length > 0) {
    FUZZ_CHECK(tokens->size() <= options.max_length);
  }
  if (options.add_special_tokens) {
    FUZZ_CHECK(tokens->size() >= tokenizer.NumSpecialTokens(false));
  }
  for (size_t i = 0; i < tokens->size(); ++i) {
    const int32_t id = tokens->ids[i];
    FUZZ_CHECK(id >= 0 && static_cast<size_t>(id) < tokenizer.VocabSize());
    FUZZ_CHECK(tokens->tokens[i] == tokenizer.IdToToken(id).value_or("?"));
    FUZZ_CHECK(tokens->offsets[i].start <= tokens->offsets[i].end);
    FUZZ_CHECK(tokens->offsets[i].end <= text.size());
  }
  absl::StatusOr<core::tokenizers::Encoding> pair =
      tokenizer.EncodePair(view, view, options);
  // Only a max_length below the pair template's 3 special tokens fails.
  const bool room = options.max_length == 0 || !options.add_special_tokens ||
                    options.max_length >= tokenizer.NumSpecialTokens(true);
  FUZZ_CHECK(pair.ok() == room);
  if (!pair.ok()) return;
  if (options.max_length > 0) FUZZ_CHECK(pair->size() <= options.max_length);
  tokenizer.Decode(pair->ids, {});
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attnserve::fuzz::ByteReader reader(data, size);
  attnserve::fuzz::Fuzz(reader);
  return 0;
}
