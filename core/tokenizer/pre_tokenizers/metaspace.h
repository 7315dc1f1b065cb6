#ifndef ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_METASPACE_H_
#define ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_METASPACE_H_

#include <string>

#include "core/tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace attnserve::core::tokenizers {

enum class PrependScheme { kFirst, kAlways, kNever };

// Metaspace: ' ' -> replacement (▁); the replacement prepended to every
// split (always) or only to the one at the start of the text (first) unless
// it already starts with it; then (split) cut before each replacement.
class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme prepend_scheme,
                        bool split);
  void PreTokenize(PreTokenizedText* text) const override;

 private:
  char32_t replacement_;
  std::string replacement_utf8_;
  PrependScheme prepend_scheme_;
  bool split_;
};

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_PRE_TOKENIZERS_METASPACE_H_
