#ifndef ATTNSERVE_CORE_TOKENIZER_VOCAB_TXT_H_
#define ATTNSERVE_CORE_TOKENIZER_VOCAB_TXT_H_

// A BERT vocab.txt as another way to build the same pipeline tokenizer.json
// describes (what transformers' BertConverter writes): BertNormalizer
// (clean_text, tokenize_chinese_chars, strip_accents, do_lower_case),
// BertPreTokenizer, WordPiece (unk_token, "##"), TemplateProcessing
// "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1", WordPiece decoder, and
// the named special tokens that are in the vocabulary as special added
// tokens (normalized=false).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/tokenizer_files.h"

namespace attnserve::core::tokenizers {

// vocab[id] is the piece with that id (ParseVocabTxt). INVALID_ARGUMENT
// naming vocab.txt when the unk, cls or sep token is not in it.
absl::StatusOr<std::unique_ptr<Tokenizer>> MakeTokenizerFromVocab(
    std::vector<std::string> vocab, const TokenizerConfigJson& config);

}  // namespace attnserve::core::tokenizers

#endif  // ATTNSERVE_CORE_TOKENIZER_VOCAB_TXT_H_
