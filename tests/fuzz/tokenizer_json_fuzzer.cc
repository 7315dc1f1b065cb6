// Fuzzes whole tokenizers (core/tokenizer/tokenizer_json.h): the first byte
// selects
//   bit 0     0: encode the rest with one of the trained test tokenizers of
//             tests/golden/tokenizers/ (BPE byte-level, BPE byte-fallback,
//             Unigram + Metaspace, WordPiece, sentencepiece Unigram +
//             Precompiled), chosen by bits 1..3; bit 4 splits the rest at its
//             first 0xFF byte into a text pair; bits 5..7 give max_length
//             (0: none, else 1 + 4 * value);
//             1: load the rest as a tokenizer.json and, if it loads, encode a
//             few texts with it.
// Checks: loading and encoding fail only with INVALID_ARGUMENT (invalid
// UTF-8, or max_length below the special tokens); encoding is deterministic;
// the encoding's parallel arrays agree in size; every id names a token;
// start <= end, and offsets lie inside their text for the trained tokenizers;
// truncation keeps at most max_length tokens; decoding does not crash.
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer/load_tokenizer.h"
#include "core/tokenizer/tokenizer_json.h"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

using core::tokenizers::DecodeOptions;
using core::tokenizers::EncodeOptions;
using core::tokenizers::Encoding;
using core::tokenizers::Tokenizer;

constexpr const char* kTokenizers[] = {"roberta-bpe", "llama-bpe",
                                       "unigram-metaspace", "wordpiece",
                                       "xlmr-sentencepiece"};
constexpr int kNumTokenizers = 5;

const Tokenizer& Trained(int index) {
  static const auto* const loaded = [] {
    auto* made = new std::vector<std::shared_ptr<const Tokenizer>>();
    for (const char* name : kTokenizers) {
      auto tokenizer =
          core::tokenizers::LoadTokenizer(std::string(ATTNSERVE_SOURCE_DIR) +
                                          "/tests/golden/tokenizers/" + name);
      FUZZ_CHECK(tokenizer.ok());
      made->push_back(*tokenizer);
    }
    return made;
  }();
  return *(*loaded)[index];
}

// offsets_inside: offsets must lie inside their text (true for the trained
// tokenizers; a BPE with byte_fallback and a continuing_subword_prefix can
// give offsets past its word, as HF's does).
void CheckEncode(const Tokenizer& tokenizer, absl::string_view text,
                 const absl::string_view* pair, size_t max_length,
                 bool offsets_inside) {
  EncodeOptions options;
  options.max_length = max_length;
  const std::string_view a(text.data(), text.size());
  auto encode = [&]() {
    return pair == nullptr
               ? tokenizer.Encode(a, options)
               : tokenizer.EncodePair(
                     a, std::string_view(pair->data(), pair->size()), options);
  };
  const absl::StatusOr<Encoding> encoding = encode();
  const absl::StatusOr<Encoding> again = encode();
  FUZZ_CHECK(encoding.ok() == again.ok());
  if (!encoding.ok()) {
    FUZZ_CHECK(encoding.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(encoding.status() == again.status());
    return;
  }
  const Encoding& e = *encoding;
  FUZZ_CHECK(e.ids == again->ids && e.offsets == again->offsets &&
             e.type_ids == again->type_ids);
  const size_t n = e.ids.size();
  FUZZ_CHECK(e.type_ids.size() == n && e.tokens.size() == n &&
             e.offsets.size() == n && e.special_tokens_mask.size() == n &&
             e.sequence_ids.size() == n);
  FUZZ_CHECK(e.untruncated_length >= n);
  if (max_length > 0) FUZZ_CHECK(n <= max_length);
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(tokenizer.IdToToken(e.ids[i]).has_value());
    FUZZ_CHECK(e.offsets[i].start <= e.offsets[i].end);
    const size_t size = e.sequence_ids[i] == 1 ? pair->size() : text.size();
    if (offsets_inside) FUZZ_CHECK(e.offsets[i].end <= size);
  }
  for (bool skip : {false, true}) {
    DecodeOptions decode;
    decode.skip_special_tokens = skip;
    (void)tokenizer.Decode(e.ids, decode);
  }
}

void Fuzz(ByteReader& reader) {
  const uint8_t selector = reader.Read<uint8_t>();
  const absl::string_view rest = reader.Rest();
  if ((selector & 1) == 0) {
    const Tokenizer& tokenizer =
        Trained(((selector >> 1) & 7) % kNumTokenizers);
    const size_t max_length =
        (selector >> 5) == 0 ? 0 : 1 + 4 * (selector >> 5);
    const size_t split = rest.find('\xff');
    if ((selector & 0x10) != 0 && split != absl::string_view::npos) {
      const absl::string_view pair = rest.substr(split + 1);
      CheckEncode(tokenizer, rest.substr(0, split), &pair, max_length, true);
    } else {
      CheckEncode(tokenizer, rest, nullptr, max_length, true);
    }
    return;
  }
  auto tokenizer = core::tokenizers::ParseTokenizerJson(
      std::string_view(rest.data(), rest.size()));
  if (!tokenizer.ok()) {
    FUZZ_CHECK(tokenizer.status().code() ==
                   absl::StatusCode::kInvalidArgument &&
               !tokenizer.status().message().empty());
    return;
  }
  for (const char* text : {"", "Hello, world!", "  a  b  ", "é中😀\xe2\x80\x8d",
                           "<s>[CLS]<mask>"}) {
    CheckEncode(**tokenizer, text, nullptr, 0, false);
  }
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attnserve::fuzz::ByteReader reader(data, size);
  attnserve::fuzz::Fuzz(reader);
  return 0;
}
