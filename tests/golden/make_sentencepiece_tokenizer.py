#!/usr/bin/python3
"""Trains a sentencepiece Unigram model (nmt_nfkc normalisation) on
tests/golden/tokenizer_corpus.txt with Debian's python3-sentencepiece and
converts it to a tokenizer.json the way transformers' convert_slow_tokenizer
does for XLM-RoBERTa (XLMRobertaConverter / SpmConverter, as the
tokenizer.json of multilingual-e5 and bge-m3 were made):

  model          Unigram: <s> <pad> </s> <unk> (score 0), the sentencepiece
                 pieces from id 3 on (fairseq offset 1), <mask>; unk_id 3
  normalizer     Sequence[Precompiled(the model's precompiled_charsmap),
                 Replace(Regex(" {2,}"), " ")]
  pre_tokenizer  Metaspace("▁", prepend_scheme "always", split true)
  post_processor TemplateProcessing "<s> $A </s>", "<s> $A </s> </s> $B </s>"
  decoder        Metaspace("▁", prepend_scheme "always", split true)
  added tokens   <s> <pad> </s> <unk> <mask> (special)

Writes tests/golden/tokenizers/xlmr-sentencepiece/{sentencepiece.bpe.model,
tokenizer.json, tokenizer_config.json, special_tokens_map.json}. The
tokenizer.json is then loaded and saved again by npm `tokenizers`
(make_trained_tokenizers.mjs) so its layout is the library's own.

  /usr/bin/python3 tests/golden/make_sentencepiece_tokenizer.py
"""
import base64
import json
import os
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tokenizers", "xlmr-sentencepiece")
VOCAB_SIZE = 1500


def train(model_prefix):
    spm.SentencePieceTrainer.train(
        input=os.path.join(HERE, "tokenizer_corpus.txt"),
        model_prefix=model_prefix,
        model_type="unigram",
        vocab_size=VOCAB_SIZE,
        hard_vocab_limit=False,
        normalization_rule_name="nmt_nfkc",
        character_coverage=1.0,
        # XLM-R's pieces 0..2: <unk>, <s>, </s>.
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )


def convert(proto):
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p.piece, p.score] for p in proto.pieces[3:]]
    vocab.append(["<mask>", 0.0])
    ids = {piece: i for i, (piece, _) in enumerate(vocab)}
    charsmap = base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode()

    def special(content):
        return {"id": ids[content], "content": content, "single_word": False,
                "lstrip": content == "<mask>", "rstrip": False, "normalized": False,
                "special": True}

    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                 "split": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t) for t in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ["<s>", "</s>"]
            },
        },
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "sp")
        train(prefix)
        with open(prefix + ".model", "rb") as f:
            model_bytes = f.read()
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_bytes)
    assert proto.trainer_spec.model_type == 1, "not a Unigram model"
    assert [p.piece for p in proto.pieces[:3]] == ["<unk>", "<s>", "</s>"]
    with open(os.path.join(OUT, "sentencepiece.bpe.model"), "wb") as f:
        f.write(model_bytes)
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(convert(proto), f, ensure_ascii=False)
    config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512,
              "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
              "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>",
              "mask_token": {"content": "<mask>", "lstrip": True, "rstrip": False,
                             "normalized": False, "single_word": False,
                             "special": True, "__type": "AddedToken"}}
    with open(os.path.join(OUT, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    special = {k: v for k, v in config.items() if k.endswith("_token")}
    with open(os.path.join(OUT, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(special, f, indent=2)
        f.write("\n")
    print(f"wrote {OUT}: {len(proto.pieces)} sentencepiece pieces, "
          f"charsmap {len(proto.normalizer_spec.precompiled_charsmap)} bytes")


if __name__ == "__main__":
    main()
