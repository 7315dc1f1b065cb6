#ifndef ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_PRECOMPILED_H_
#define ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_PRECOMPILED_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tokenizer/normalizers/normalizer.h"

namespace attnserve::core::tokenizers {

// Precompiled: sentencepiece's precompiled_charsmap (XLM-R, T5, ...), as HF's
// spm_precompiled crate reads and applies it. The charsmap is a little-endian
// u32 trie size in bytes, a darts-clone double array of that many bytes,
// then NUL-terminated replacement strings the trie's values point into.
// Each extended grapheme cluster shorter than 6 bytes is looked up whole;
// otherwise (or when absent) each of its characters is.
class PrecompiledNormalizer final : public Normalizer {
 public:
  // `charsmap`: the decoded bytes (tokenizer.json stores them in base64).
  // INVALID_ARGUMENT when it is too short, the trie does not fit or the
  // strings are not UTF-8.
  static absl::StatusOr<std::unique_ptr<PrecompiledNormalizer>> Create(
      std::string charsmap);
  void Normalize(NormalizedText* text) const override;

  // The replacement for `chunk` (the first, i.e. shortest, prefix match of
  // the trie, as spm_precompiled's transform), or nullopt.
  std::optional<std::string_view> Transform(std::string_view chunk) const;

 private:
  PrecompiledNormalizer() = default;

  std::vector<uint32_t> array_;
  std::string normalized_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_NORMALIZERS_PRECOMPILED_H_
