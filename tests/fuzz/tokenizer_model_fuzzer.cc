// Fuzzes the tokenizer models (core/tokenizer/models/bpe.h, unigram.h). The
// first byte selects:
//   bit 0     BPE (0) or Unigram (1);
//   bit 1     0: encode the rest (when valid UTF-8; the models' contract) as
//             one word with a fixed model, chosen by bits 2..3 among models
//             that cover every option (continuing_subword_prefix,
//             end_of_word_suffix, unk_token / unk_id, fuse_unk, byte_fallback,
//             ignore_merges, unk_id null);
//             1: load the rest as a tokenizer.json "model" section and, if
//             it loads, encode a few words with it.
// Checks: loading fails only with INVALID_ARGUMENT and a message; encoding is
// deterministic, every id names a piece, offsets run from 0 without gaps
// (BPE: each piece starts where the last ended; Unigram: pieces cover the
// word, the <0xNN> pieces of one piece sharing its span, and a non-byte
// piece's value is the text it covers).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer/models/bpe.h"
#include "core/tokenizer/models/unigram.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_input.h"

namespace attnserve::fuzz {
namespace {

using core::tokenizers::Bpe;
using core::tokenizers::Model;
using core::tokenizers::ModelToken;
using core::tokenizers::Unigram;
using Json = nlohmann::json;

std::string ByteName(int b) {
  char name[8];
  std::snprintf(name, sizeof(name), "<0x%02X>", b);
  return name;
}

// BPE over a, b, c, é, 中, 😀 with merges up to "abc", "é中", "😀😀".
Json BpeModel(int variant) {
  const bool prefix = variant == 1 || variant == 2;
  const bool suffix = variant == 1;
  const std::string p = prefix ? "##" : "";
  const std::string s = suffix ? "</w>" : "";
  Json vocab = Json::object();
  auto add = [&vocab](const std::string& piece) {
    const size_t id = vocab.size();
    if (!vocab.contains(piece)) vocab[piece] = id;
  };
  if (variant != 3) add("<unk>");
  if (variant == 2) {
    for (int b = 0; b < 256; ++b) add(ByteName(b));
  }
  for (const std::string c : {"a", "b", "c", "é", "中", "😀"}) {
    add(c);
    add(p + c);
    add(c + s);
    add(p + c + s);
  }
  Json merges = Json::array();
  auto merge = [&](const std::string& a, const std::string& b) {
    merges.push_back({a, b});
    add(a + b.substr(p.size()));
  };
  merge("a", p + "b");
  merge(p + "b", p + "c");
  merge("a", p + "bc");
  merge("ab", p + "c");
  merge("é", p + "中");
  merge("😀", p + "😀");
  merge(p + "a", p + "b");
  if (suffix) merge("a", p + "b" + s);
  return Json{{"type", "BPE"},
              {"unk_token", variant == 3 ? Json() : Json("<unk>")},
              {"continuing_subword_prefix", prefix ? Json(p) : Json()},
              {"end_of_word_suffix", suffix ? Json(s) : Json()},
              {"fuse_unk", variant == 0 || variant == 2},
              {"byte_fallback", variant == 2},
              {"ignore_merges", variant == 3},
              {"vocab", vocab},
              {"merges", merges}};
}

// Unigram over the same characters, some missing, with tied scores.
Json UnigramModel(int variant) {
  Json vocab = Json::array();
  if (variant != 2) vocab.push_back({"<unk>", 0.0});
  for (const char* piece : {"a", "b", "ab", "abc", "bc", "c", "é", "é中",
                            "中中", "😀😀", "b😀", "<unk>"}) {
    vocab.push_back({piece, -1.0 - static_cast<double>(vocab.size() % 3)});
  }
  if (variant == 1) {
    for (int b = 0; b < 256; ++b) vocab.push_back({ByteName(b), -20.0});
  }
  return Json{{"type", "Unigram"},
              {"unk_id", variant == 2 ? Json() : Json(0)},
              {"vocab", vocab},
              {"byte_fallback", variant == 1}};
}

std::unique_ptr<Model> Load(bool unigram, const Json& model) {
  if (unigram) {
    auto loaded = Unigram::FromJson(model);
    FUZZ_CHECK(loaded.ok() ||
               (loaded.status().code() == absl::StatusCode::kInvalidArgument &&
                !loaded.status().message().empty()));
    return loaded.ok() ? std::move(*loaded) : nullptr;
  }
  auto loaded = Bpe::FromJson(model);
  FUZZ_CHECK(loaded.ok() ||
             (loaded.status().code() == absl::StatusCode::kInvalidArgument &&
              !loaded.status().message().empty()));
  return loaded.ok() ? std::move(*loaded) : nullptr;
}

const Model& FixedModel(bool unigram, int variant) {
  static const auto* const models = [] {
    auto* made = new std::vector<std::unique_ptr<Model>>();
    for (int v = 0; v < 4; ++v) made->push_back(Load(false, BpeModel(v)));
    for (int v = 0; v < 4; ++v)
      made->push_back(Load(true, UnigramModel(v % 3)));
    for (const auto& m : *made) FUZZ_CHECK(m != nullptr);
    return made;
  }();
  return *(*models)[(unigram ? 4 : 0) + variant];
}

bool IsByteName(const std::string& value) {
  return value.size() == 6 && value.rfind("<0x", 0) == 0 && value[5] == '>';
}

void CheckEncode(const Model& model, absl::string_view word) {
  std::vector<ModelToken> tokens;
  const absl::Status status =
      model.Tokenize(std::string_view(word.data(), word.size()), &tokens);
  std::vector<ModelToken> again;
  const absl::Status status_again =
      model.Tokenize(std::string_view(word.data(), word.size()), &again);
  FUZZ_CHECK(status == status_again);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(tokens.size() == again.size());
  if (word.empty()) FUZZ_CHECK(tokens.empty());
  const bool unigram = model.type() == "Unigram";
  size_t prev_start = 0, prev_end = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const ModelToken& t = tokens[i];
    FUZZ_CHECK(t.id == again[i].id && t.value == again[i].value &&
               t.start == again[i].start && t.end == again[i].end);
    FUZZ_CHECK(model.IdToToken(t.id).has_value());
    FUZZ_CHECK(t.start < t.end);
    if (unigram) {
      const bool shares_span = i > 0 && IsByteName(t.value) &&
                               t.start == prev_start && t.end == prev_end;
      FUZZ_CHECK(shares_span || t.start == prev_end);
      FUZZ_CHECK(t.end <= word.size());
      if (!IsByteName(t.value)) {
        FUZZ_CHECK(t.value == word.substr(t.start, t.end - t.start));
      }
    } else {
      FUZZ_CHECK(t.start == prev_end);
    }
    prev_start = t.start;
    prev_end = t.end;
  }
  if (unigram && !word.empty()) FUZZ_CHECK(prev_end == word.size());
}

// Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80                ? 1
                 : b >= 0xC2 && b < 0xE0 ? 2
                 : b >= 0xE0 && b < 0xF0 ? 3
                 : b >= 0xF0 && b < 0xF5 ? 4
                                         : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += len;
  }
  return true;
}

void Fuzz(ByteReader& reader) {
  const uint8_t selector = reader.Read<uint8_t>();
  const bool unigram = selector & 1;
  const absl::string_view rest = reader.Rest();
  if ((selector & 2) == 0) {
    if (!IsValidUtf8(rest)) return;
    CheckEncode(FixedModel(unigram, (selector >> 2) & 3), rest);
    return;
  }
  const Json model = Json::parse(rest.begin(), rest.end(), nullptr, false);
  if (model.is_discarded()) return;
  std::unique_ptr<Model> loaded = Load(unigram, model);
  if (loaded == nullptr) return;
  for (const char* word :
       {"a", "abc", "é中😀", "<unk>", "##a</w>", "\xe2\x96\x81x"}) {
    CheckEncode(*loaded, word);
  }
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attnserve::fuzz::ByteReader reader(data, size);
  attnserve::fuzz::Fuzz(reader);
  return 0;
}
