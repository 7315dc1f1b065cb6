#!/usr/bin/python3
"""Golden data for the BERT loader and encoder tests (tests/core/models/bert/*_test.cc).

Writes small random BERT checkpoints in Hugging Face layout and the outputs of an
independent, plain torch BERT (nn.functional ops, float64, padded batch with an
attention mask) for a few token-id sequences:

  tiny_bert/           F32, bare tensor names (sentence-transformers layout), gelu,
                       modules.json (mean pooling + Normalize), 1_Pooling/config.json
  tiny_bert_prefixed/  F16, "bert."-prefixed names plus pooler / MLM-head tensors, gelu_new
  tiny_bert_expected.safetensors / tiny_bert_prefixed_expected.safetensors
                       expected hidden states, pooled vectors, attention maps, MultiHeadAttend
  encoder_inputs.json  the token ids and token types the expectations are for
  safetensors_dtypes.safetensors  one tensor as F32, F16 and BF16 plus torch's FP32 conversions

Run from anywhere with /usr/bin/python3 (torch 1.13); output is deterministic.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
HIDDEN, LAYERS, HEADS, INTERMEDIATE, MAX_POS, TYPES = 32, 2, 4, 64, 64, 2

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("the of and to a in is it you that he was for on are with as his they be at one have "
         "this from or had by hot word but what some we can out other were all there when up use "
         "your how said an each she which do their time if will way about many then them write "
         "would like so these her long make thing see him two has look more day could go come did "
         "number sound no most people my over know water than call first who may down side been "
         "now find any new work part take get place made live where after back little only round "
         "man year came show every good me give our under name very through just form sentence "
         "great think say help low line differ turn cause much mean before move right boy old too "
         "same tell does set three want air well also play small end put home read hand port large "
         "spell add even land here must big high such follow act why ask men change went light "
         "kind off need house picture try us again animal point mother world near build self earth "
         "father head stand own page should country found answer school grow study still learn "
         "plant cover food sun four between state keep eye never last let thought city tree cross "
         "farm hard start might story saw far sea draw left late run don while press close night "
         "real life few north open seem together next white children begin got walk example ease "
         "paper group always music those both mark often letter until mile river car feet care "
         "second book carry took science eat room friend began idea fish mountain stop once base "
         "hear horse cut sure watch color face wood main enough plain girl usual young ready above "
         "ever red list though feel talk bird soon body dog family direct pose leave song measure "
         "door product black short numeral class wind question happen complete ship area half rock "
         "order fire south problem piece told knew pass since top whole king space heard best hour "
         "better true during hundred five remember step early hold west ground interest reach fast "
         "verb sing listen six table travel less morning ten simple several vowel toward war lay "
         "against pattern slow center love person money serve appear road map rain rule govern "
         "pull cold notice voice unit power town fine certain fly fall lead cry dark machine note "
         "wait plan figure star box noun field rest correct able pound done beauty drive stood "
         "contain front teach week final gave green oh quick develop ocean warm free minute strong "
         "special mind behind clear tail produce fact street inch multiply nothing course stay "
         "wheel full force blue object decide surface deep moon island foot system busy test record "
         "boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape "
         "equate miss brought heat snow tire bring yes distant fill east paint language among "
         "attention encoder").split()
SUFFIXES = ["##s", "##ing", "##ed", "##er", "##ly", "##est", "##ment", "##ness"]
PUNCT = list(".,!?;:'\"()-")
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
DIGITS = [str(d) for d in range(10)]
VOCAB = SPECIAL + PUNCT + DIGITS + LETTERS + ["##" + c for c in LETTERS] + SUFFIXES + WORDS[:240]
VOCAB_SIZE = len(VOCAB)

# Token-id sequences: [CLS] ... [SEP], several lengths including 1 and MAX_POS.
def make_inputs(gen):
    lengths = [7, 13, 1, 30, MAX_POS, 2]
    seqs, types = [], []
    for n in lengths:
        ids = torch.randint(5, VOCAB_SIZE, (n,), generator=gen).tolist()
        if n >= 2:
            ids[0], ids[-1] = 2, 3
        seqs.append(ids)
        types.append([0] * n)
    # a sentence pair: second segment has token type 1
    types[1] = [0] * 6 + [1] * 7
    return seqs, types


def save_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer: {name: torch tensor (F32, F16 or BF16)}."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if t.dtype == torch.bfloat16:
            data = t.view(torch.int16).numpy().tobytes()
        else:
            data = t.numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def random_weights(gen):
    def normal(*shape, std=0.2, mean=0.0):
        return torch.randn(*shape, generator=gen) * std + mean
    w = {
        "embeddings.word_embeddings.weight": normal(VOCAB_SIZE, HIDDEN, std=0.5),
        "embeddings.position_embeddings.weight": normal(MAX_POS, HIDDEN, std=0.5),
        "embeddings.token_type_embeddings.weight": normal(TYPES, HIDDEN, std=0.5),
        "embeddings.LayerNorm.weight": normal(HIDDEN, std=0.1, mean=1.0),
        "embeddings.LayerNorm.bias": normal(HIDDEN, std=0.1),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ["attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"]:
            w[p + name + ".weight"] = normal(HIDDEN, HIDDEN, std=0.3)
            w[p + name + ".bias"] = normal(HIDDEN, std=0.1)
        w[p + "intermediate.dense.weight"] = normal(INTERMEDIATE, HIDDEN, std=0.3)
        w[p + "intermediate.dense.bias"] = normal(INTERMEDIATE, std=0.1)
        w[p + "output.dense.weight"] = normal(HIDDEN, INTERMEDIATE, std=0.2)
        w[p + "output.dense.bias"] = normal(HIDDEN, std=0.1)
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"]:
            w[p + ln + ".weight"] = normal(HIDDEN, std=0.1, mean=1.0)
            w[p + ln + ".bias"] = normal(HIDDEN, std=0.1)
    return w


class ReferenceBert:
    """A plain BERT encoder (post-LN) in float64, computed on a padded batch."""

    def __init__(self, weights, act, eps=1e-12):
        self.w = {k: v.double() for k, v in weights.items()}
        self.act = act
        self.eps = eps

    def ln(self, x, prefix):
        return F.layer_norm(x, (HIDDEN,), self.w[prefix + ".weight"], self.w[prefix + ".bias"],
                            self.eps)

    def linear(self, x, prefix):
        return F.linear(x, self.w[prefix + ".weight"], self.w[prefix + ".bias"])

    def gelu(self, x):
        return F.gelu(x) if self.act == "gelu" else F.gelu(x, approximate="tanh")

    def attention(self, layer, hidden, context, key_lengths):
        """hidden [B,S,H], context [B,C,H] -> (context vectors [B,S,H] before the output
        projection, weights [B,heads,S,C])."""
        p = f"encoder.layer.{layer}.attention.self."
        B, S, _ = hidden.shape
        C = context.shape[1]
        d = HIDDEN // HEADS

        def split(x, n):
            return x.view(B, n, HEADS, d).transpose(1, 2)
        q = split(self.linear(hidden, p + "query"), S)
        k = split(self.linear(context, p + "key"), C)
        v = split(self.linear(context, p + "value"), C)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        pad = torch.arange(C)[None, :] >= torch.tensor(key_lengths)[:, None]  # [B, C]
        scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        out = (probs @ v).transpose(1, 2).reshape(B, S, HIDDEN)
        return out, probs

    def multi_head_attend(self, layer, hidden, context, key_lengths):
        out, probs = self.attention(layer, hidden, context, key_lengths)
        return self.linear(out, f"encoder.layer.{layer}.attention.output.dense"), probs

    def forward(self, seqs, types):
        B, S = len(seqs), max(len(s) for s in seqs)
        ids = torch.zeros(B, S, dtype=torch.long)
        tt = torch.zeros(B, S, dtype=torch.long)
        for b, (s, t) in enumerate(zip(seqs, types)):
            ids[b, :len(s)] = torch.tensor(s)
            tt[b, :len(t)] = torch.tensor(t)
        lengths = [len(s) for s in seqs]
        x = (self.w["embeddings.word_embeddings.weight"][ids] +
             self.w["embeddings.position_embeddings.weight"][torch.arange(S)][None] +
             self.w["embeddings.token_type_embeddings.weight"][tt])
        x = self.ln(x, "embeddings.LayerNorm")
        maps = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            ctx, probs = self.attention(i, x, x, lengths)
            maps.append(probs)
            x = self.ln(self.linear(ctx, p + "attention.output.dense") + x,
                        p + "attention.output.LayerNorm")
            h = self.gelu(self.linear(x, p + "intermediate.dense"))
            x = self.ln(self.linear(h, p + "output.dense") + x, p + "output.LayerNorm")
        return x, maps, lengths


def expected_outputs(ref, seqs, types, gen):
    x, maps, lengths = ref.forward(seqs, types)
    out = {}
    out["hidden"] = torch.cat([x[b, :n] for b, n in enumerate(lengths)])  # packed [T, H]
    cls = torch.stack([x[b, 0] for b in range(len(lengths))])
    mean = torch.stack([x[b, :n].mean(0) for b, n in enumerate(lengths)])
    mx = torch.stack([x[b, :n].max(0).values for b, n in enumerate(lengths)])
    out["pooled_cls"], out["pooled_mean"], out["pooled_max"] = cls, mean, mx
    out["pooled_mean_normalized"] = F.normalize(mean, dim=-1)
    for b, n in enumerate(lengths):  # the last layer's maps of the shorter sequences
        if n <= 32:
            out[f"attention.{LAYERS - 1}.{b}"] = maps[LAYERS - 1][b, :, :n, :n]  # [heads, n, n]
    # MultiHeadAttend, self-attention with key lengths, on random hidden states.
    hidden = torch.randn(2, 5, HIDDEN, generator=gen).double()
    o, w = ref.multi_head_attend(1, hidden, hidden, [5, 3])
    out["mha_self.hidden"], out["mha_self.output"], out["mha_self.weights"] = hidden, o, w
    # Cross-attention: queries from hidden, keys/values from context.
    hidden = torch.randn(2, 4, HIDDEN, generator=gen).double()
    context = torch.randn(2, 6, HIDDEN, generator=gen).double()
    o, w = ref.multi_head_attend(0, hidden, context, [6, 2])
    out["mha_cross.hidden"], out["mha_cross.context"] = hidden, context
    out["mha_cross.output"], out["mha_cross.weights"] = o, w
    return {k: v.float().contiguous() for k, v in out.items()}


def write_common_files(directory, act, architectures):
    os.makedirs(directory, exist_ok=True)
    config = {
        "architectures": architectures, "model_type": "bert", "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "intermediate_size": INTERMEDIATE, "hidden_act": act, "layer_norm_eps": 1e-12,
        "max_position_embeddings": MAX_POS, "type_vocab_size": TYPES, "vocab_size": VOCAB_SIZE,
        "position_embedding_type": "absolute", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02, "pad_token_id": 0,
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("".join(v + "\n" for v in VOCAB))
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": MAX_POS,
                   "tokenizer_class": "BertTokenizer"}, f, indent=2)


def main():
    gen = torch.Generator().manual_seed(20261127)
    seqs, types = make_inputs(gen)
    with open(os.path.join(HERE, "encoder_inputs.json"), "w") as f:
        json.dump({"token_ids": seqs, "token_type_ids": types}, f)

    # 1. F32, bare names, sentence-transformers layout, exact GELU.
    weights = random_weights(gen)
    d = os.path.join(HERE, "tiny_bert")
    write_common_files(d, "gelu", ["BertModel"])
    save_safetensors(os.path.join(d, "model.safetensors"), weights, {"format": "pt"})
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.models.Normalize"}], f, indent=2)
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    save_safetensors(os.path.join(HERE, "tiny_bert_expected.safetensors"),
                     expected_outputs(ReferenceBert(weights, "gelu"), seqs, types, gen))

    # 2. F16, "bert."-prefixed names with pooler and MLM head, tanh GELU.
    weights = {k: v.half() for k, v in random_weights(gen).items()}
    d = os.path.join(HERE, "tiny_bert_prefixed")
    write_common_files(d, "gelu_new", ["BertForMaskedLM"])
    stored = {"bert." + k: v for k, v in weights.items()}
    stored["bert.pooler.dense.weight"] = torch.randn(HIDDEN, HIDDEN, generator=gen).half()
    stored["bert.pooler.dense.bias"] = torch.randn(HIDDEN, generator=gen).half()
    stored["cls.predictions.bias"] = torch.randn(VOCAB_SIZE, generator=gen).half()
    stored["cls.predictions.transform.dense.weight"] = torch.randn(HIDDEN, HIDDEN,
                                                                   generator=gen).half()
    save_safetensors(os.path.join(d, "model.safetensors"), stored)
    save_safetensors(os.path.join(HERE, "tiny_bert_prefixed_expected.safetensors"),
                     expected_outputs(ReferenceBert({k: v.float() for k, v in weights.items()},
                                                    "gelu_new"), seqs, types, gen))

    # 3. One tensor in each dtype, and torch's conversions back to F32.
    a = torch.randn(3, 5, generator=gen) * 10
    a[0, 0], a[0, 1], a[0, 2] = 1e-6, -65504.0, 3e-8  # subnormal halves, the largest half
    save_safetensors(os.path.join(HERE, "safetensors_dtypes.safetensors"), {
        "a_f32": a, "a_f16": a.half(), "a_bf16": a.bfloat16(),
        "a_f16_as_f32": a.half().float(), "a_bf16_as_f32": a.bfloat16().float(),
        "empty": torch.zeros(0, 4)}, {"note": "ignored by readers"})


if __name__ == "__main__":
    main()
