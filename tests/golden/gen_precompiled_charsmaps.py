#!/usr/bin/env python3
"""sentencepiece's precompiled normalization charsmaps for
gen_tokenizer_pipeline.mjs (the Precompiled normalizer of tokenizer.json).

Trains throwaway character models with Debian's python3-sentencepiece, one
per normalization rule, and keeps each model's
normalizer_spec.precompiled_charsmap (what transformers' converters put in
tokenizer.json, base64-encoded) in precompiled_charsmaps.json.

    python3 tests/golden/gen_precompiled_charsmaps.py
"""
import base64
import json
import os
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = ["nmt_nfkc", "nmt_nfkc_cf"]


def charsmap(rule, workdir):
    corpus = os.path.join(workdir, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for i in range(200):
            f.write(f"the quick brown fox {i} jumps over the lazy dog\n")
    prefix = os.path.join(workdir, rule)
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=40, model_type="char",
        normalization_rule_name=rule, minloglevel=2)
    model = sentencepiece_model_pb2.ModelProto()
    with open(prefix + ".model", "rb") as f:
        model.ParseFromString(f.read())
    return base64.b64encode(model.normalizer_spec.precompiled_charsmap).decode()


def main():
    with tempfile.TemporaryDirectory() as workdir:
        maps = {rule: charsmap(rule, workdir) for rule in RULES}
    out = os.path.join(HERE, "precompiled_charsmaps.json")
    with open(out, "w") as f:
        json.dump({"generator": "tests/golden/gen_precompiled_charsmaps.py",
                   "sentencepiece": spm.__version__, "charsmaps": maps}, f)
        f.write("\n")
    print(f"wrote {out}: {', '.join(f'{k} {len(v)} base64 chars' for k, v in maps.items())}")


if __name__ == "__main__":
    main()
