#include "core/tokenizer/vocab_txt.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/tokenizer/decoders/wordpiece.h"
#include "core/tokenizer/models/wordpiece.h"
#include "core/tokenizer/normalizers/bert.h"
#include "core/tokenizer/post_processors/template.h"
#include "core/tokenizer/pre_tokenizers/bert.h"

namespace attnserve::core::tokenizers {

absl::StatusOr<std::unique_ptr<Tokenizer>> MakeTokenizerFromVocab(
    std::vector<std::string> vocab, const TokenizerConfigJson& config) {
  const std::string unk = config.unk_token.value_or("[UNK]");
  const std::string cls = config.cls_token.value_or("[CLS]");
  const std::string sep = config.sep_token.value_or("[SEP]");
  const std::string pad = config.pad_token.value_or("[PAD]");
  const std::string mask = config.mask_token.value_or("[MASK]");
  WordPiece::Options options;
  options.unk_token = unk;
  absl::StatusOr<std::unique_ptr<WordPiece>> model =
      WordPiece::FromVocab(std::move(vocab), options);
  if (!model.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocab.txt: ", model.status().message()));
  }
  const std::optional<int32_t> cls_id = (*model)->TokenToId(cls);
  const std::optional<int32_t> sep_id = (*model)->TokenToId(sep);
  if (!cls_id || !sep_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vocab.txt: has no entry for the ",
        !cls_id ? "cls_token \"" + cls : "sep_token \"" + sep, "\""));
  }
  TokenizerParts parts;
  parts.normalizer = std::make_unique<BertNormalizer>(
      /*clean_text=*/true, config.tokenize_chinese_chars, config.strip_accents,
      config.do_lower_case);
  parts.pre_tokenizer = std::make_unique<BertPreTokenizer>();
  using Piece = TemplatePostProcessor::Piece;
  const Piece cls_piece{false, 0, cls, 0};
  const Piece sep_piece{false, 0, sep, 0};
  const Piece sep_piece_b{false, 0, sep, 1};
  const Piece a{true, 0, "", 0};
  const Piece b{true, 1, "", 1};
  std::vector<std::pair<std::string, TemplatePostProcessor::Special>> specials =
      {{cls, {{*cls_id}, {cls}}}};
  if (sep != cls) specials.push_back({sep, {{*sep_id}, {sep}}});
  parts.post_processor = std::make_unique<TemplatePostProcessor>(
      std::vector<Piece>{cls_piece, a, sep_piece},
      std::vector<Piece>{cls_piece, a, sep_piece, b, sep_piece_b},
      std::move(specials));
  parts.decoder = std::make_unique<WordPieceDecoder>("##", true);
  std::vector<std::string> names = {pad, unk, cls, sep, mask};
  names.insert(names.end(), config.additional_special_tokens.begin(),
               config.additional_special_tokens.end());
  for (const std::string& name : names) {
    const std::optional<int32_t> id = (*model)->TokenToId(name);
    if (!id || name.empty()) continue;
    bool duplicate = false;
    for (const AddedToken& added : parts.added_tokens) {
      duplicate |= added.content == name;
    }
    if (duplicate) continue;
    AddedToken token;
    token.content = name;
    token.id = *id;
    token.special = true;
    token.normalized = false;
    parts.added_tokens.push_back(std::move(token));
  }
  parts.model = *std::move(model);
  parts.model_max_length = config.model_max_length;
  parts.clean_up_tokenization_spaces = config.clean_up_tokenization_spaces;
  return std::make_unique<Tokenizer>(std::move(parts));
}

}  // namespace attnserve::core::tokenizers
