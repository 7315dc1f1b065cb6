#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_DECODERS_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_DECODERS_H_

// The decoders of HF tokenizers' decoders/ (each as its Rust decode_chain).

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"
#include "core/tokenizer/pre_tokenizers/metaspace.h"
#include "core/tokenizer/regex.h"

namespace attnserve::core::tokenizers {

// HF's wordpiece::cleanup (also transformers' clean_up_tokenization): " ."
// -> ".", " ?", " !", " ,", " ' " -> "'", " n't", " 'm", " do not" ->
// " don't", " 's", " 've", " 're".
std::string CleanUpTokenization(std::string text);

// WordPiece: tokens after the first lose `prefix` or get a leading space;
// `cleanup` applies CleanUpTokenization to each.
class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  std::string prefix_;
  bool cleanup_;
};

// ByteLevel: all tokens' byte-level characters back to bytes (a token with
// another character stays as is), one token, invalid UTF-8 -> U+FFFD.
class ByteLevelDecoder final : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override;
};

// Metaspace: the replacement back to ' ', dropped at the start of the first
// token unless prepend_scheme is never.
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, PrependScheme prepend_scheme)
      : replacement_(replacement), prepend_scheme_(prepend_scheme) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  char32_t replacement_;
  PrependScheme prepend_scheme_;
};

// ByteFallback: runs of <0xNN> tokens back to their bytes (U+FFFD per byte
// when not UTF-8).
class ByteFallbackDecoder final : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override;
};

// Fuse: all tokens into one.
class FuseDecoder final : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override;
};

// Strip: up to `start` leading and `stop` trailing `content` chars removed.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  char32_t content_;
  size_t start_;
  size_t stop_;
};

// Replace: every match of the pattern in each token becomes `content`.
class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(std::shared_ptr<const Regex> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  std::shared_ptr<const Regex> pattern_;
  std::string content_;
};

// BPEDecoder: `suffix` -> ' ' in each token, -> '' in the last.
class BpeDecoder final : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override;

 private:
  std::string suffix_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<const Decoder>> decoders)
      : decoders_(std::move(decoders)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (const auto& d : decoders_) d->DecodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<const Decoder>> decoders_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_DECODERS_H_
