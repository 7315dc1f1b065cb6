"""Plain torch 1.13 ModernBERT, NomicBERT and MPNet encoders (float32, padded batch with an
attention mask) for the side-by-side benchmarks, exportable with torch.onnx, and writers of
random Hugging Face directories for them. Written from transformers' modeling_modernbert.py /
modeling_mpnet.py and nomic's modeling_hf_nomic_bert.py (the float64 references with the same
semantics, checked against attnserve, are in tests/golden/gen_models.py).
"""
import json
import math
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

from torch_bert import read_safetensors, write_safetensors


def _random(seed):
    g = np.random.default_rng(seed)
    return lambda *shape: (g.standard_normal(shape) * 0.02).astype(np.float32)


def random_modernbert_dir(path, hidden=768, layers=22, heads=12, inner=1152, vocab=50368,
                          window=128, every=3, seed=0):
    """ModernBERT-base's shape (vocab 50368): no biases, GeGLU, "model." names."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    w = _random(seed)
    t = {"model.embeddings.tok_embeddings.weight": w(vocab, hidden),
         "model.embeddings.norm.weight": 1 + w(hidden), "model.final_norm.weight": 1 + w(hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        if i:
            t[p + "attn_norm.weight"] = 1 + w(hidden)
        t[p + "attn.Wqkv.weight"] = w(3 * hidden, hidden)
        t[p + "attn.Wo.weight"] = w(hidden, hidden)
        t[p + "mlp_norm.weight"] = 1 + w(hidden)
        t[p + "mlp.Wi.weight"] = w(2 * inner, hidden)
        t[p + "mlp.Wo.weight"] = w(hidden, inner)
    write_safetensors(path / "model.safetensors", t)
    config = {"architectures": ["ModernBertModel"], "model_type": "modernbert",
              "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": inner, "hidden_activation": "gelu", "norm_eps": 1e-5,
              "norm_bias": False, "attention_bias": False, "mlp_bias": False,
              "local_attention": window, "global_attn_every_n_layers": every,
              "global_rope_theta": 160000.0, "local_rope_theta": 10000.0,
              "max_position_embeddings": 8192, "vocab_size": vocab, "pad_token_id": 0}
    (path / "config.json").write_text(json.dumps(config, indent=1))
    return config


def random_nomic_dir(path, hidden=768, layers=12, heads=12, inner=3072, vocab=30528, seed=0):
    """nomic-embed-text-v1.5's shape: SwiGLU, full rotary with base 1000, no linear biases."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    w = _random(seed)
    t = {"embeddings.word_embeddings.weight": w(vocab, hidden),
         "embeddings.token_type_embeddings.weight": w(2, hidden),
         "emb_ln.weight": 1 + w(hidden), "emb_ln.bias": w(hidden)}
    for i in range(layers):
        p = f"encoder.layers.{i}."
        t[p + "attn.Wqkv.weight"] = w(3 * hidden, hidden)
        t[p + "attn.out_proj.weight"] = w(hidden, hidden)
        t[p + "mlp.fc11.weight"] = w(inner, hidden)
        t[p + "mlp.fc12.weight"] = w(inner, hidden)
        t[p + "mlp.fc2.weight"] = w(hidden, inner)
        for ln in ("norm1", "norm2"):
            t[p + ln + ".weight"] = 1 + w(hidden)
            t[p + ln + ".bias"] = w(hidden)
    write_safetensors(path / "model.safetensors", t)
    config = {"architectures": ["NomicBertModel"], "model_type": "nomic_bert", "n_embd": hidden,
              "n_layer": layers, "n_head": heads, "n_inner": inner,
              "activation_function": "swiglu", "rotary_emb_fraction": 1.0,
              "rotary_emb_base": 1000, "qkv_proj_bias": False, "mlp_fc1_bias": False,
              "mlp_fc2_bias": False, "prenorm": False, "layer_norm_epsilon": 1e-12,
              "n_positions": 8192, "type_vocab_size": 2, "vocab_size": vocab}
    (path / "config.json").write_text(json.dumps(config, indent=1))
    return config


def random_mpnet_dir(path, hidden=768, layers=12, heads=12, inner=3072, vocab=30527, seed=0):
    """all-mpnet-base-v2's shape."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    w = _random(seed)
    t = {"embeddings.word_embeddings.weight": w(vocab, hidden),
         "embeddings.position_embeddings.weight": w(514, hidden),
         "embeddings.LayerNorm.weight": 1 + w(hidden), "embeddings.LayerNorm.bias": w(hidden),
         "encoder.relative_attention_bias.weight": w(32, heads) * 50}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, (o, n) in {"attention.attn.q": (hidden, hidden),
                             "attention.attn.k": (hidden, hidden),
                             "attention.attn.v": (hidden, hidden),
                             "attention.attn.o": (hidden, hidden),
                             "intermediate.dense": (inner, hidden),
                             "output.dense": (hidden, inner)}.items():
            t[p + name + ".weight"] = w(o, n)
            t[p + name + ".bias"] = w(o)
        for ln in ("attention.LayerNorm", "output.LayerNorm"):
            t[p + ln + ".weight"] = 1 + w(hidden)
            t[p + ln + ".bias"] = w(hidden)
    write_safetensors(path / "model.safetensors", t)
    config = {"architectures": ["MPNetModel"], "model_type": "mpnet", "hidden_size": hidden,
              "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": inner, "hidden_act": "gelu", "layer_norm_eps": 1e-5,
              "max_position_embeddings": 514, "relative_attention_num_buckets": 32,
              "vocab_size": vocab}
    (path / "config.json").write_text(json.dumps(config, indent=1))
    return config


def _load(model_dir, prefix=""):
    model_dir = pathlib.Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    weights = {k.removeprefix(prefix): v
               for k, v in read_safetensors(model_dir / "model.safetensors").items()}
    return config, weights


def _heads(x, n):
    b, s, _ = x.shape
    return x.view(b, s, n, -1).transpose(1, 2)


def _merge(x):
    b, n, s, d = x.shape
    return x.transpose(1, 2).reshape(b, s, n * d)


def _rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def _rotary(x, cos, sin, rot):
    xr, rest = x[..., :rot], x[..., rot:]
    return torch.cat((xr * cos + _rotate_half(xr) * sin, rest), dim=-1)


def _cos_sin(s, rot, base):
    inv_freq = 1.0 / (base ** (torch.arange(0, rot, 2, dtype=torch.float32) / rot))
    freqs = torch.arange(s, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class TorchModernBert(torch.nn.Module):
    """ModernBertModel (sdpa-like eager path): pre-norm, rotary, global / sliding-window layers,
    GeGLU, final norm."""

    def __init__(self, model_dir):
        super().__init__()
        self.c, w = _load(model_dir, "model.")
        self.w = {k: torch.nn.Parameter(v, requires_grad=False) for k, v in w.items()}
        for i, (k, v) in enumerate(self.w.items()):
            self.register_parameter(f"p{i}", v)

    def forward(self, input_ids, attention_mask):
        c, w = self.c, self.w
        H, n = c["hidden_size"], c["num_attention_heads"]
        d = H // n
        ln = lambda x, name: F.layer_norm(x, (H,), w[name + ".weight"], None, c["norm_eps"])
        s = input_ids.shape[1]
        x = ln(F.embedding(input_ids, w["embeddings.tok_embeddings.weight"]), "embeddings.norm")
        neg = torch.finfo(x.dtype).min
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * neg
        pos = torch.arange(s)
        far = (pos[None, :] - pos[:, None]).abs() > c["local_attention"] // 2
        local_mask = mask.masked_fill(far[None, None], neg)
        rope = {True: _cos_sin(s, d, c["global_rope_theta"]),
                False: _cos_sin(s, d, c["local_rope_theta"])}
        for i in range(c["num_hidden_layers"]):
            p = f"layers.{i}."
            glob = i % c["global_attn_every_n_layers"] == 0
            h = x if i == 0 else ln(x, p + "attn_norm")
            q, k, v = (_heads(t, n) for t in F.linear(h, w[p + "attn.Wqkv.weight"]).split(H, -1))
            cos, sin = rope[glob]
            q, k = _rotary(q, cos, sin, d), _rotary(k, cos, sin, d)
            scores = q @ k.transpose(-1, -2) / math.sqrt(d) + (mask if glob else local_mask)
            x = x + F.linear(_merge(torch.softmax(scores, -1) @ v), w[p + "attn.Wo.weight"])
            inp, gate = F.linear(ln(x, p + "mlp_norm"), w[p + "mlp.Wi.weight"]).chunk(2, -1)
            x = x + F.linear(F.gelu(inp) * gate, w[p + "mlp.Wo.weight"])
        return ln(x, "final_norm")


class TorchNomicBert(torch.nn.Module):
    """NomicBertModel (prenorm false): rotary, SwiGLU, post-LN."""

    def __init__(self, model_dir):
        super().__init__()
        self.c, w = _load(model_dir, "bert.")
        self.w = {k: torch.nn.Parameter(v, requires_grad=False) for k, v in w.items()}
        for i, (k, v) in enumerate(self.w.items()):
            self.register_parameter(f"p{i}", v)

    def forward(self, input_ids, attention_mask):
        c, w = self.c, self.w
        H, n = c["n_embd"], c["n_head"]
        d = H // n
        rot = int(d * c["rotary_emb_fraction"])
        ln = lambda x, name: F.layer_norm(x, (H,), w[name + ".weight"], w[name + ".bias"],
                                          c["layer_norm_epsilon"])
        s = input_ids.shape[1]
        x = (F.embedding(input_ids, w["embeddings.word_embeddings.weight"]) +
             w["embeddings.token_type_embeddings.weight"][0])
        x = ln(x, "emb_ln")
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        cos, sin = _cos_sin(s, rot, c["rotary_emb_base"])
        for i in range(c["n_layer"]):
            p = f"encoder.layers.{i}."
            q, k, v = (_heads(t, n) for t in F.linear(x, w[p + "attn.Wqkv.weight"]).split(H, -1))
            q, k = _rotary(q, cos, sin, rot), _rotary(k, cos, sin, rot)
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, -1)
            x = ln(F.linear(_merge(probs @ v), w[p + "attn.out_proj.weight"]) + x, p + "norm1")
            h = F.linear(x, w[p + "mlp.fc11.weight"]) * F.silu(F.linear(x, w[p + "mlp.fc12.weight"]))
            x = ln(F.linear(h, w[p + "mlp.fc2.weight"]) + x, p + "norm2")
        return x


def _mpnet_buckets(s):
    """MPNetEncoder.relative_position_bucket over key - query offsets, [s, s]."""
    rel = torch.arange(s)[None, :] - torch.arange(s)[:, None]
    n = -rel
    ret = (n < 0).to(torch.long) * 16
    n = n.abs()
    large = 8 + (torch.log(n.float() / 8) / math.log(128 / 8) * 8).to(torch.long)
    large = torch.min(large, torch.full_like(large, 15))
    return ret + torch.where(n < 8, n, large)


class TorchMpnet(torch.nn.Module):
    """MPNetModel: BERT layers plus the shared relative position bias; positions from 2."""

    def __init__(self, model_dir):
        super().__init__()
        self.c, w = _load(model_dir, "mpnet.")
        self.w = {k: torch.nn.Parameter(v, requires_grad=False) for k, v in w.items()}
        for i, (k, v) in enumerate(self.w.items()):
            self.register_parameter(f"p{i}", v)

    def forward(self, input_ids, attention_mask):
        c, w = self.c, self.w
        H, n = c["hidden_size"], c["num_attention_heads"]
        d = H // n
        lin = lambda x, name: F.linear(x, w[name + ".weight"], w[name + ".bias"])
        ln = lambda x, name: F.layer_norm(x, (H,), w[name + ".weight"], w[name + ".bias"],
                                          c["layer_norm_eps"])
        s = input_ids.shape[1]
        x = (F.embedding(input_ids, w["embeddings.word_embeddings.weight"]) +
             F.embedding(torch.arange(s) + 2, w["embeddings.position_embeddings.weight"]))
        x = ln(x, "embeddings.LayerNorm")
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        bias = F.embedding(_mpnet_buckets(s), w["encoder.relative_attention_bias.weight"])
        bias = bias.permute(2, 0, 1)[None] + mask
        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q, k, v = (_heads(lin(x, p + "attention.attn." + t), n) for t in "qkv")
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, -1)
            x = ln(lin(_merge(probs @ v), p + "attention.attn.o") + x, p + "attention.LayerNorm")
            h = F.gelu(lin(x, p + "intermediate.dense"))
            x = ln(lin(h, p + "output.dense") + x, p + "output.LayerNorm")
        return x
