"""A plain torch 1.13 BERT encoder (post-LN, as Hugging Face's BertModel) for the
side-by-side benchmarks, plus a minimal safetensors reader/writer.

Independent of attnserve's C++ code: it reads the same Hugging Face model directory
(config.json + model.safetensors) so every peer runs the same weights.
"""
import json
import math
import pathlib
import struct

import numpy as np
import torch
import torch.nn.functional as F

_NP_DTYPES = {"F32": np.float32, "F16": np.float16}


def write_safetensors(path, tensors):
    """tensors: {name: float32 numpy array}; written as F32."""
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header_bytes = json.dumps(header).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(raw[base + begin:base + end], dtype=_NP_DTYPES[info["dtype"]])
        out[name.removeprefix("bert.")] = torch.from_numpy(
            array.astype(np.float32).reshape(info["shape"]))
    return out


def random_bert_dir(path, hidden, layers, heads, intermediate, vocab=30522, max_pos=512,
                    seed=0):
    """Writes config.json + model.safetensors with N(0, 0.02) weights, as BERT's init."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng(seed)
    w = lambda *shape: (g.standard_normal(shape) * 0.02).astype(np.float32)
    t = {
        "embeddings.word_embeddings.weight": w(vocab, hidden),
        "embeddings.position_embeddings.weight": w(max_pos, hidden),
        "embeddings.token_type_embeddings.weight": w(2, hidden),
        "embeddings.LayerNorm.weight": 1 + w(hidden),
        "embeddings.LayerNorm.bias": w(hidden),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, (o, n) in {"attention.self.query": (hidden, hidden),
                             "attention.self.key": (hidden, hidden),
                             "attention.self.value": (hidden, hidden),
                             "attention.output.dense": (hidden, hidden),
                             "intermediate.dense": (intermediate, hidden),
                             "output.dense": (hidden, intermediate)}.items():
            t[p + name + ".weight"] = w(o, n)
            t[p + name + ".bias"] = w(o)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + ln + ".weight"] = 1 + w(hidden)
            t[p + ln + ".bias"] = w(hidden)
    write_safetensors(path / "model.safetensors", t)
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": hidden,
              "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": intermediate, "hidden_act": "gelu",
              "layer_norm_eps": 1e-12, "max_position_embeddings": max_pos,
              "type_vocab_size": 2, "vocab_size": vocab}
    (path / "config.json").write_text(json.dumps(config, indent=1))
    return config


def random_xlmr_dir(path, hidden, layers, heads, intermediate, vocab=250002, seed=0):
    """An XLMRobertaModel directory: BERT weights under "roberta.", one token type, positions
    from padding_idx + 1 (514 of them), XLM-R's 250002-token vocabulary."""
    path = pathlib.Path(path)
    random_bert_dir(path, hidden, layers, heads, intermediate, vocab=vocab, max_pos=514,
                    seed=seed)
    tensors = read_safetensors(path / "model.safetensors")
    tensors["embeddings.token_type_embeddings.weight"] = (
        tensors["embeddings.token_type_embeddings.weight"][:1].contiguous())
    write_safetensors(path / "model.safetensors",
                      {"roberta." + k: v.numpy() for k, v in tensors.items()})
    config = json.loads((path / "config.json").read_text())
    config.update({"architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
                   "type_vocab_size": 1, "pad_token_id": 1, "layer_norm_eps": 1e-5})
    (path / "config.json").write_text(json.dumps(config, indent=1))
    return config


class TorchBert(torch.nn.Module):
    """BertModel's encoder: embeddings + post-LN layers; returns last hidden states.
    RoBERTa family (model_type roberta / xlm-roberta / camembert): tensors under "roberta.",
    position ids from pad_token_id + 1 (sequences without padding)."""

    def __init__(self, model_dir):
        super().__init__()
        model_dir = pathlib.Path(model_dir)
        self.config = json.loads((model_dir / "config.json").read_text())
        c = self.config
        self.hidden, self.heads = c["hidden_size"], c["num_attention_heads"]
        self.eps = c["layer_norm_eps"]
        self.tanh_gelu = c["hidden_act"] != "gelu"
        roberta = c.get("model_type") in ("roberta", "xlm-roberta", "camembert")
        self.position_offset = c.get("pad_token_id", 1) + 1 if roberta else 0
        self.w = torch.nn.ParameterDict({
            k.removeprefix("roberta.").replace(".", "__"):
                torch.nn.Parameter(v, requires_grad=False)
            for k, v in read_safetensors(model_dir / "model.safetensors").items()
            if k.removeprefix("roberta.").startswith(("embeddings.", "encoder."))})
        layers = []
        for i in range(c["num_hidden_layers"]):
            p = f"encoder__layer__{i}__"
            lin = lambda name: self._linear(p + name)
            layers.append(torch.nn.ModuleDict({
                "q": lin("attention__self__query"), "k": lin("attention__self__key"),
                "v": lin("attention__self__value"), "o": lin("attention__output__dense"),
                "ln1": self._ln(p + "attention__output__LayerNorm"),
                "i": lin("intermediate__dense"), "out": lin("output__dense"),
                "ln2": self._ln(p + "output__LayerNorm")}))
        self.layers = torch.nn.ModuleList(layers)
        self.emb_ln = self._ln("embeddings__LayerNorm")

    def _linear(self, p):
        weight = self.w[p + "__weight"]
        m = torch.nn.Linear(weight.shape[1], weight.shape[0])
        m.weight.data, m.bias.data = weight.data.clone(), self.w[p + "__bias"].data.clone()
        return m

    def _ln(self, p):
        m = torch.nn.LayerNorm(self.hidden, eps=self.eps)
        m.weight.data, m.bias.data = self.w[p + "__weight"].data.clone(), self.w[p + "__bias"].data.clone()
        return m

    def forward(self, input_ids, attention_mask):
        b, s = input_ids.shape
        pos = torch.arange(s).unsqueeze(0) + self.position_offset
        x = (F.embedding(input_ids, self.w["embeddings__word_embeddings__weight"]) +
             F.embedding(pos, self.w["embeddings__position_embeddings__weight"]) +
             self.w["embeddings__token_type_embeddings__weight"][0])
        x = self.emb_ln(x)
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        d = self.hidden // self.heads
        split = lambda t: t.view(b, s, self.heads, d).transpose(1, 2)
        for layer in self.layers:
            q, k, v = split(layer["q"](x)), split(layer["k"](x)), split(layer["v"](x))
            scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias
            ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, self.hidden)
            x = layer["ln1"](layer["o"](ctx) + x)
            h = F.gelu(layer["i"](x), approximate="tanh" if self.tanh_gelu else "none")
            x = layer["ln2"](layer["out"](h) + x)
        return x
