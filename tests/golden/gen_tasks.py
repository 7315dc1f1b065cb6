#!/usr/bin/python3
"""Golden model directories for the tasks beyond embeddings (issue 17, CONTRACT.md §9).

Writes small random checkpoints in the exact Hugging Face layout (config.json as the Hub
configs write it, model.safetensors with the tensor names real checkpoints have), each with
a real tokenizer of tests/golden/tokenizers/ so that every tokenizer type is served:

  tasks/bert_rerank/        BertForSequenceClassification, one label ("bert." prefix,
                            pooler + classifier), bert-mini-uncased (WordPiece)
  tasks/xlmr_nli/           XLMRobertaForSequenceClassification, three NLI labels
                            ("roberta." prefix, classifier.dense + classifier.out_proj),
                            xlmr-sentencepiece (Unigram)
  tasks/modernbert_rerank/  ModernBertForSequenceClassification, one label ("model."
                            prefix, head.dense + head.norm + classifier), roberta-bpe (BPE)
  tasks/bert_mlm/           BertForMaskedLM ("bert." prefix, cls.predictions.* with the
                            decoder tied to the word embeddings), wordpiece (WordPiece)

Expected outputs of an independent float64 torch implementation written from Hugging
Face's modeling code (modeling_bert.py BertForSequenceClassification: BertPooler + classifier;
modeling_xlm_roberta.py XLMRobertaClassificationHead: dense, tanh, out_proj on <s>;
modeling_modernbert.py ModernBertForSequenceClassification: classifier_pooling, then
ModernBertPredictionHead dense, act, norm, then classifier), one sequence at a time, on the
pair encodings of tasks/pairs.json (npm `tokenizers`, gen_tasks_pairs.mjs):

  tasks/<model>/expected.json   {"untruncated": [logits per pair], "truncated": [...]}
                                (pairs too long for the model have null untruncated logits)
  tasks/bert_mlm/expected.json  {"token_ids": [...], "splade": [{"indices", "values"}]}:
                                SPLADE (max over tokens of log(1 + relu(MLM logits)), zeros
                                omitted) of BertForMaskedLM's cls.predictions head (transform
                                dense, gelu, LayerNorm, decoder tied to the word embeddings,
                                bias) on npm `tokenizers` encodings of the wordpiece tokenizer

  tasks/mlm_splade.json         SPLADE of the golden RobertaForMaskedLM, MPNetForMaskedLM
                                and ModernBertForMaskedLM of tests/golden/models/ (see
                                mlm_splade)

Run from anywhere with /usr/bin/python3 (torch); output is deterministic.
"""
import json
import os
import shutil
import struct

import torch
import torch.nn.functional as F

import gen_models
from gen_encoder import save_safetensors
from gen_models import normal

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tasks")
TOKENIZERS = os.path.join(HERE, "tokenizers")
torch.set_default_dtype(torch.float64)

BERT = dict(hidden=32, heads=4, layers=2, inter=64, max_pos=64, pad=0)
ROBERTA = dict(hidden=32, heads=4, layers=2, inter=64, max_pos=66, pad=1)
MODERN = dict(hidden=32, heads=4, layers=3, inter=48, every=2, window=16,
              global_theta=160000.0, local_theta=10000.0, eps=1e-5, max_pos=96)
NLI_LABELS = ["entailment", "neutral", "contradiction"]


def tokenizer_vocab(name):
    """One past the largest id of a tokenizer.json (model vocabulary and added tokens)."""
    with open(os.path.join(TOKENIZERS, name, "tokenizer.json")) as f:
        t = json.load(f)
    vocab = t["model"]["vocab"]
    ids = list(vocab.values()) if isinstance(vocab, dict) else list(range(len(vocab)))
    ids += [a["id"] for a in t.get("added_tokens", [])]
    return max(ids) + 1


def encoder_weights(gen, c, vocab, types):
    """BERT / RoBERTa encoder tensors (bare names) for a vocabulary of `vocab` rows."""
    gen_models.VOCAB = vocab
    w = gen_models.roberta_weights(gen, c)
    w["embeddings.token_type_embeddings.weight"] = normal(gen, types, c["hidden"], std=0.5)
    return w


def bert_config(c, arch, vocab, extra):
    config = {
        "architectures": [arch], "model_type": "bert", "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": c["hidden"], "initializer_range": 0.02,
        "intermediate_size": c["inter"], "layer_norm_eps": 1e-12,
        "max_position_embeddings": c["max_pos"], "num_attention_heads": c["heads"],
        "num_hidden_layers": c["layers"], "pad_token_id": c["pad"],
        "position_embedding_type": "absolute", "torch_dtype": "float32",
        "type_vocab_size": 2, "use_cache": True, "vocab_size": vocab,
    }
    config.update(extra)
    return config


def labels_config(labels):
    return {"id2label": {str(i): l for i, l in enumerate(labels)},
            "label2id": {l: i for i, l in enumerate(labels)}}


def write_dir(name, tokenizer, config, tensors):
    d = os.path.join(OUT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    shutil.copytree(os.path.join(TOKENIZERS, tokenizer), d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_safetensors(os.path.join(d, "model.safetensors"),
                     {k: v.float().contiguous() for k, v in tensors.items()}, {"format": "pt"})


def bert_rerank(gen):
    vocab = tokenizer_vocab("bert-mini-uncased")
    w = encoder_weights(gen, BERT, vocab, 2)
    H = BERT["hidden"]
    stored = {"bert." + k: v for k, v in w.items()}
    stored["classifier.weight"] = normal(gen, 1, H, std=0.5)
    stored["classifier.bias"] = normal(gen, 1, std=0.2)
    config = bert_config(BERT, "BertForSequenceClassification", vocab,
                         labels_config(["LABEL_0"]))
    write_dir("bert_rerank", "bert-mini-uncased", config, stored)
    return stored


def xlmr_nli(gen):
    vocab = tokenizer_vocab("xlmr-sentencepiece")
    w = encoder_weights(gen, ROBERTA, vocab, 1)
    del w["pooler.dense.weight"], w["pooler.dense.bias"]  # add_pooling_layer=False
    H = ROBERTA["hidden"]
    stored = {"roberta." + k: v for k, v in w.items()}
    stored["classifier.dense.weight"] = normal(gen, H, H, std=0.3)
    stored["classifier.dense.bias"] = normal(gen, H, std=0.1)
    stored["classifier.out_proj.weight"] = normal(gen, 3, H, std=0.5)
    stored["classifier.out_proj.bias"] = normal(gen, 3, std=0.2)
    gen_models.VOCAB = vocab
    config = gen_models.roberta_config(ROBERTA, "XLMRobertaForSequenceClassification",
                                       "xlm-roberta")
    config.update(labels_config(NLI_LABELS))
    write_dir("xlmr_nli", "xlmr-sentencepiece", config, stored)
    return stored


def modernbert_rerank(gen):
    vocab = tokenizer_vocab("roberta-bpe")
    gen_models.VOCAB = vocab
    w = gen_models.modern_weights(gen, MODERN)
    H = MODERN["hidden"]
    stored = {"model." + k: v for k, v in w.items()}
    stored["head.dense.weight"] = normal(gen, H, H, std=0.3)
    stored["head.norm.weight"] = normal(gen, H, std=0.1, mean=1.0)
    stored["classifier.weight"] = normal(gen, 1, H, std=0.5)
    stored["classifier.bias"] = normal(gen, 1, std=0.2)
    config = gen_models.modern_config(MODERN)
    config.update({"architectures": ["ModernBertForSequenceClassification"],
                   "bos_token_id": 0, "cls_token_id": 0, "eos_token_id": 2,
                   "sep_token_id": 2, "pad_token_id": 1, "classifier_pooling": "mean"},
                  **labels_config(["LABEL_0"]))
    write_dir("modernbert_rerank", "roberta-bpe", config, stored)
    return stored


def bert_mlm(gen):
    vocab = tokenizer_vocab("wordpiece")
    w = encoder_weights(gen, BERT, vocab, 2)
    del w["pooler.dense.weight"], w["pooler.dense.bias"]  # add_pooling_layer=False
    H = BERT["hidden"]
    stored = {"bert." + k: v for k, v in w.items()}
    stored["cls.predictions.transform.dense.weight"] = normal(gen, H, H, std=0.3)
    stored["cls.predictions.transform.dense.bias"] = normal(gen, H, std=0.1)
    stored["cls.predictions.transform.LayerNorm.weight"] = normal(gen, H, std=0.1, mean=1.0)
    stored["cls.predictions.transform.LayerNorm.bias"] = normal(gen, H, std=0.1)
    stored["cls.predictions.bias"] = normal(gen, vocab, std=0.5)
    config = bert_config(BERT, "BertForMaskedLM", vocab, {"tie_word_embeddings": True})
    write_dir("bert_mlm", "wordpiece", config, stored)
    with open(os.path.join(HERE, "tokenizer_pipeline_golden.json")) as f:
        singles = json.load(f)["tokenizers"]["wordpiece"]["singles"]
    seqs = [e["ids"] for e in singles if 1 <= len(e["ids"]) <= BERT["max_pos"]][:12]
    s = double(stored)
    w = double({k[len("bert."):]: v for k, v in stored.items() if k.startswith("bert.")})
    out = {"token_ids": seqs, "splade": []}
    for ids in seqs:
        x = bert_forward(w, BERT, ids, [0] * len(ids))
        p = "cls.predictions."
        h = F.gelu(F.linear(x, s[p + "transform.dense.weight"], s[p + "transform.dense.bias"]))
        h = F.layer_norm(h, (H,), s[p + "transform.LayerNorm.weight"],
                         s[p + "transform.LayerNorm.bias"], 1e-12)
        logits = F.linear(h, s["bert.embeddings.word_embeddings.weight"], s[p + "bias"])
        vec = torch.log1p(torch.relu(logits)).max(dim=0).values
        nz = torch.nonzero(vec).flatten()
        out["splade"].append({"indices": nz.tolist(), "values": vec[nz].tolist()})
    with open(os.path.join(OUT, "bert_mlm", "expected.json"), "w") as f:
        json.dump(out, f)


def bert_forward(w, c, ids, types):
    """BertModel on one sequence: word + position (0..n-1) + token type embeddings,
    LayerNorm, post-LN layers (eps 1e-12)."""
    ids, types = torch.tensor([ids]), torch.tensor([types])
    eps = 1e-12
    x = (w["embeddings.word_embeddings.weight"][ids] +
         w["embeddings.position_embeddings.weight"][torch.arange(ids.shape[1])][None] +
         w["embeddings.token_type_embeddings.weight"][types])
    x = gen_models.layer_norm(x, w, "embeddings.LayerNorm", eps)
    m = torch.zeros(1, 1, 1, ids.shape[1])
    for i in range(c["layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (gen_models.heads(gen_models.linear(x, w, p + "attention.self." + n),
                                    c["heads"]) for n in ("query", "key", "value"))
        ctx, _ = gen_models.attend(q, k, v, m)
        x = gen_models.layer_norm(
            gen_models.linear(gen_models.merge(ctx), w, p + "attention.output.dense") + x, w,
            p + "attention.output.LayerNorm", eps)
        h = F.gelu(gen_models.linear(x, w, p + "intermediate.dense"))
        x = gen_models.layer_norm(gen_models.linear(h, w, p + "output.dense") + x, w,
                                  p + "output.LayerNorm", eps)
    return x[0]


def double(tensors):
    return {k: v.double() for k, v in tensors.items()}


def bert_logits(stored, ids, types):
    w = double({k[len("bert."):]: v for k, v in stored.items() if k.startswith("bert.")})
    x = bert_forward(w, BERT, ids, types)
    s = double(stored)
    pooled = torch.tanh(F.linear(x[0], s["bert.pooler.dense.weight"], s["bert.pooler.dense.bias"]))
    return F.linear(pooled, s["classifier.weight"], s["classifier.bias"])


def xlmr_logits(stored, ids, types):
    w = double({k[len("roberta."):]: v for k, v in stored.items() if k.startswith("roberta.")})
    x, _, _ = gen_models.roberta_forward(w, ROBERTA, [ids])
    s = double(stored)
    h = torch.tanh(F.linear(x[0, 0], s["classifier.dense.weight"], s["classifier.dense.bias"]))
    return F.linear(h, s["classifier.out_proj.weight"], s["classifier.out_proj.bias"])


def modern_logits(stored, ids, types):
    w = double({k[len("model."):]: v for k, v in stored.items() if k.startswith("model.")})
    x, _, _ = gen_models.modern_forward(w, MODERN, [ids])
    s = double(stored)
    pooled = x[0].mean(0)  # classifier_pooling "mean" over the sequence's tokens
    h = F.gelu(F.linear(pooled, s["head.dense.weight"]))  # classifier_bias false
    h = F.layer_norm(h, (h.shape[-1],), s["head.norm.weight"], None, MODERN["eps"])
    return F.linear(h, s["classifier.weight"], s["classifier.bias"])


def write_expected(name, stored, logits_fn, pairs):
    entry = pairs["models"][name]
    out = {"untruncated": [], "truncated": []}
    for key in out:
        for e in entry[key]:
            if len(e["ids"]) > entry["max_length"]:
                out[key].append(None)
                continue
            out[key].append(logits_fn(stored, e["ids"], e["type_ids"]).tolist())
    with open(os.path.join(OUT, name, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)


def read_safetensors(path):
    """{name: float64 tensor} of an F32 safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        begin, end = info["data_offsets"]
        values = struct.unpack(f"<{(end - begin) // 4}f", raw[8 + n + begin:8 + n + end])
        out[name] = torch.tensor(values).reshape(info["shape"])
    return out


def splade(logits):
    """[tokens, vocab] -> {"indices", "values"}: max over tokens of log(1 + relu(logit)),
    zeros omitted."""
    vec = torch.log1p(torch.relu(logits)).max(dim=0).values
    nz = torch.nonzero(vec).flatten()
    return {"indices": nz.tolist(), "values": [round(v, 9) for v in vec[nz].tolist()]}


def mlm_splade():
    """SPLADE of the masked-LM architectures' golden directories (tests/golden/models/,
    gen_models.py: RobertaForMaskedLM, MPNetForMaskedLM, ModernBertForMaskedLM, each with
    its MLM head) on models/inputs.json's sequences, one at a time, from modeling_roberta.py
    RobertaLMHead / modeling_mpnet.py MPNetLMHead (dense, gelu, layer_norm, decoder tied to
    the word embeddings + bias) and modeling_modernbert.py ModernBertForMaskedLM (head:
    dense without bias (classifier_bias false), classifier_activation gelu, norm without
    bias (norm_bias false); decoder tied to tok_embeddings + bias (decoder_bias true)).
    Writes tasks/mlm_splade.json {model: {"token_ids", "splade"}}."""
    models = os.path.join(HERE, "models")
    with open(os.path.join(models, "inputs.json")) as f:
        inputs = json.load(f)
    out = {}
    for name, prefix, forward, c in (
            ("roberta", "roberta.", gen_models.roberta_forward, gen_models.ROBERTA),
            ("mpnet", "mpnet.", gen_models.mpnet_forward, gen_models.MPNET),
            ("modernbert", "model.", gen_models.modern_forward, gen_models.MODERN)):
        s = read_safetensors(os.path.join(models, name, "model.safetensors"))
        with open(os.path.join(models, name, "config.json")) as f:
            config = json.load(f)
        w = {k[len(prefix):]: v for k, v in s.items() if k.startswith(prefix)}
        H = config["hidden_size"]
        entry = {"token_ids": inputs[name], "splade": []}
        for ids in inputs[name]:
            x = forward(w, c, [ids])[0][0]
            if name == "modernbert":
                h = F.gelu(F.linear(x, s["head.dense.weight"]))
                h = F.layer_norm(h, (H,), s["head.norm.weight"], None, config["norm_eps"])
                logits = F.linear(h, w["embeddings.tok_embeddings.weight"], s["decoder.bias"])
            else:
                h = F.gelu(F.linear(x, s["lm_head.dense.weight"], s["lm_head.dense.bias"]))
                h = F.layer_norm(h, (H,), s["lm_head.layer_norm.weight"],
                                 s["lm_head.layer_norm.bias"], config["layer_norm_eps"])
                logits = F.linear(h, w["embeddings.word_embeddings.weight"], s["lm_head.bias"])
            entry["splade"].append(splade(logits))
        out[name] = entry
    with open(os.path.join(OUT, "mlm_splade.json"), "w") as f:
        json.dump(out, f)


def main():
    gen = torch.Generator().manual_seed(17)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "pairs.json")) as f:
        pairs = json.load(f)
    write_expected("bert_rerank", bert_rerank(gen), bert_logits, pairs)
    write_expected("xlmr_nli", xlmr_nli(gen), xlmr_logits, pairs)
    write_expected("modernbert_rerank", modernbert_rerank(gen), modern_logits, pairs)
    bert_mlm(gen)
    mlm_splade()


if __name__ == "__main__":
    main()
