// Fuzzes the WordPiece tokenizer on arbitrary bytes (invalid UTF-8 included)
// with the demo model's vocabulary. The first byte picks the normaliser
// options, special tokens and a max_length; the rest is the text. Checks:
// Tokenize and EncodeIds agree (status and ids), offsets lie inside the text,
// truncation keeps at most max_length tokens, ids are in the vocabulary.
#include <cstdint>
#include <memory>
#include <optional>

#include "core/models/demo/demo_model.h"
#include "core/tokenizer/load_bert_tokenizer.h"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

// Four tokenizers over the demo vocabulary: uncased (default), cased,
// uncased keeping accents, cased without CJK splitting.
const core::WordPieceTokenizer& Tokenizer(int variant) {
  static const std::shared_ptr<const core::WordPieceTokenizer>* const
      tokenizers = [] {
        absl::StatusOr<core::DemoModel> demo = core::MakeDemoModel();
        FUZZ_CHECK(demo.ok());
        auto* made = new std::shared_ptr<const core::WordPieceTokenizer>[4];
        for (int v = 0; v < 4; ++v) {
          core::TokenizerConfigJson config;
          config.do_lower_case = v == 0 || v == 2;
          if (v == 2) config.strip_accents = false;
          config.tokenize_chinese_chars = v != 3;
          auto tokenizer = core::MakeBertTokenizer(demo->vocab, config);
          FUZZ_CHECK(tokenizer.ok());
          made[v] = *tokenizer;
        }
        return made;
      }();
  return *tokenizers[variant];
}

void Fuzz(ByteReader& reader) {
  const uint8_t options_byte = reader.Read<uint8_t>();
  const core::WordPieceTokenizer& tokenizer = Tokenizer(options_byte & 3);
  core::TokenizeOptions options;
  options.add_special_tokens = options_byte & 4;
  // 0 (no limit) or 2..33.
  options.max_length = options_byte >> 3 == 0 ? 0 : 1 + (options_byte >> 3);
  const absl::string_view text = reader.Rest();

  absl::StatusOr<core::Tokenization> tokens = tokenizer.Tokenize(text, options);
  absl::StatusOr<core::EncodedIds> ids = tokenizer.EncodeIds(text, options);
  FUZZ_CHECK(tokens.ok() == ids.ok());
  if (!tokens.ok()) {
    FUZZ_CHECK(tokens.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(tokens.status() == ids.status());
    return;
  }
  FUZZ_CHECK(tokens->tokens.size() == ids->ids.size());
  FUZZ_CHECK(tokens->untruncated_length == ids->untruncated_length);
  FUZZ_CHECK(tokens->untruncated_length >= tokens->tokens.size());
  if (options.max_length > 0) {
    FUZZ_CHECK(tokens->tokens.size() <= options.max_length);
  }
  if (options.add_special_tokens) {
    FUZZ_CHECK(tokens->tokens.size() >= tokenizer.num_special_tokens());
  }
  for (size_t i = 0; i < tokens->tokens.size(); ++i) {
    const core::Token& token = tokens->tokens[i];
    FUZZ_CHECK(token.id == ids->ids[i]);
    FUZZ_CHECK(token.id >= 0 &&
               static_cast<size_t>(token.id) < tokenizer.vocab_size());
    FUZZ_CHECK(token.text == tokenizer.IdToToken(token.id));
    FUZZ_CHECK(token.start <= token.end);
    FUZZ_CHECK(token.end <= text.size());
  }
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attnserve::fuzz::ByteReader reader(data, size);
  attnserve::fuzz::Fuzz(reader);
  return 0;
}
