#ifndef ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_TEMPLATE_H_
#define ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_TEMPLATE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/post_processors/post_processor.h"

namespace attnserve::core::tokenizers {

// TemplateProcessing: "single" and "pair" templates of pieces, each a
// sequence ($A / $B) or a special token (an id of `special_tokens`, which may
// stand for several token ids), with the type id it gets.
class TemplatePostProcessor final : public PostProcessor {
 public:
  struct Piece {
    bool is_sequence = false;
    int sequence = 0;        // 0 ($A) or 1 ($B), when is_sequence
    std::string special_id;  // a key of the special tokens otherwise
    uint32_t type_id = 0;
  };
  struct Special {
    std::vector<int32_t> ids;
    std::vector<std::string> tokens;
  };

  // The loader checks that every special piece names a known special token.
  TemplatePostProcessor(std::vector<Piece> single, std::vector<Piece> pair,
                        std::vector<std::pair<std::string, Special>> specials);
  size_t AddedTokens(bool is_pair) const override {
    return is_pair ? added_pair_ : added_single_;
  }
  absl::Status ProcessParts(std::vector<EncodingPart>* parts,
                            bool add_special_tokens) const override;

 private:
  const Special* Find(const std::string& id) const;
  size_t Count(const std::vector<Piece>& pieces) const;

  std::vector<Piece> single_;
  std::vector<Piece> pair_;
  std::vector<std::pair<std::string, Special>> specials_;
  size_t added_single_ = 0;
  size_t added_pair_ = 0;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_POST_PROCESSORS_TEMPLATE_H_
