#ifndef ATTNSERVE_CORE_TOKENIZER_DECODERS_REPLACE_H_
#define ATTNSERVE_CORE_TOKENIZER_DECODERS_REPLACE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/decoders/decoder.h"
#include "core/tokenizer/regex.h"

namespace attnserve::core::tokenizers {

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

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_DECODERS_REPLACE_H_
