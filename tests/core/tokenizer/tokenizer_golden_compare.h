#ifndef ATTNSERVE_TESTS_CORE_TOKENIZER_TOKENIZER_GOLDEN_COMPARE_H_
#define ATTNSERVE_TESTS_CORE_TOKENIZER_TOKENIZER_GOLDEN_COMPARE_H_

// Compares attnserve's tokenizers with golden encodings recorded from Hugging
// Face tokenizers (npm `tokenizers`) by tests/golden/gen_tokenizer_pipeline.mjs
// and diff_tokenizers.mjs: {text, pair?, ids, type_ids, offsets (bytes),
// tokens?, special_tokens_mask?, decoded?, decoded_skip_special?}.

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace attnserve::core::tokenizers {

inline nlohmann::json ReadGoldenJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return nlohmann::json::parse(bytes.str());
}

inline std::string GoldenPath(const std::string& file) {
  return std::string(ATTNSERVE_SOURCE_DIR) + "/tests/golden/" + file;
}

inline std::string Quote(const std::string& text) {
  std::string quoted = nlohmann::json(text).dump();
  return quoted.size() > 200 ? quoted.substr(0, 200) + "..." : quoted;
}

template <class T>
std::string Join(const std::vector<T>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(values[i]);
  }
  return out + "]";
}

// "" when `tokenizer` gives what HF gave for case `c`, else what differs.
inline std::string CompareWithGolden(const Tokenizer& tokenizer,
                                     const nlohmann::json& c) {
  const std::string text = c["text"].get<std::string>();
  const bool is_pair = c.contains("pair");
  const std::string label =
      Quote(text) +
      (is_pair ? " + " + Quote(c["pair"].get<std::string>()) : "");
  absl::StatusOr<Encoding> encoding =
      is_pair ? tokenizer.EncodePair(text, c["pair"].get<std::string>(), {})
              : tokenizer.Encode(text, {});
  if (!encoding.ok()) {
    return label + ": " + encoding.status().ToString();
  }
  std::string diff;
  const auto ids = c["ids"].get<std::vector<int32_t>>();
  if (encoding->ids != ids) {
    diff += "\n  ids " + Join(encoding->ids) + "\n   HF " + Join(ids);
  }
  const auto type_ids = c["type_ids"].get<std::vector<uint32_t>>();
  if (encoding->type_ids != type_ids) {
    diff += "\n  type_ids " + Join(encoding->type_ids) + "\n        HF " +
            Join(type_ids);
  }
  std::vector<uint32_t> offsets, expected_offsets;
  for (const Offsets& o : encoding->offsets) {
    offsets.push_back(o.start);
    offsets.push_back(o.end);
  }
  for (const nlohmann::json& o : c["offsets"]) {
    expected_offsets.push_back(o[0].get<uint32_t>());
    expected_offsets.push_back(o[1].get<uint32_t>());
  }
  if (offsets != expected_offsets) {
    diff += "\n  offsets " + Join(offsets) + "\n       HF " +
            Join(expected_offsets);
  }
  if (c.contains("tokens") &&
      encoding->tokens != c["tokens"].get<std::vector<std::string>>()) {
    diff += "\n  tokens " + nlohmann::json(encoding->tokens).dump() +
            "\n      HF " + c["tokens"].dump();
  }
  if (c.contains("special_tokens_mask")) {
    const auto mask = c["special_tokens_mask"].get<std::vector<uint8_t>>();
    if (encoding->special_tokens_mask != mask) {
      diff += "\n  special_tokens_mask " + Join(encoding->special_tokens_mask) +
              "\n                  HF " + Join(mask);
    }
  }
  for (const auto& [key, skip] :
       {std::pair<const char*, bool>{"decoded", false},
        std::pair<const char*, bool>{"decoded_skip_special", true}}) {
    if (!c.contains(key)) continue;
    DecodeOptions options;
    options.skip_special_tokens = skip;
    const std::string decoded = tokenizer.Decode(ids, options);
    if (decoded != c[key].get<std::string>()) {
      diff += std::string("\n  ") + key + " " + Quote(decoded) + "\n  HF " +
              Quote(c[key].get<std::string>());
    }
  }
  return diff.empty() ? "" : label + diff;
}

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_TESTS_CORE_TOKENIZER_TOKENIZER_GOLDEN_COMPARE_H_
