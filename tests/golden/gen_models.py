#!/usr/bin/python3
"""Golden data for the encoder architectures beyond BERT (issue 16).

Writes one small random checkpoint per architecture in the exact Hugging Face
directory layout (config.json with the keys the Hub configs use, model.safetensors
with the tensor names and prefixes real checkpoints have) and the outputs of an
independent float64 torch implementation of each, written from the Hugging Face
modeling code (modeling_roberta.py / modeling_xlm_roberta.py, modeling_mpnet.py,
modeling_modernbert.py, nomic's modeling_hf_nomic_bert.py) on a padded batch with
an attention mask, the way those files run it:

  models/xlm_roberta/   XLMRobertaModel, bare names (sentence-transformers layout),
                        pooler, one token type, position ids from pad_token_id + 1
  models/roberta/       RobertaForMaskedLM, "roberta."-prefixed names + lm_head
  models/mpnet/         MPNetForMaskedLM, "mpnet."-prefixed names + lm_head;
                        bucketed relative position bias shared by the layers
  models/nomic_bert/    NomicBertModel, bare names, GPT-2 style config keys,
                        rotary on half of each head, SwiGLU (n_inner rounded up to
                        a multiple of 256), no linear biases, post-LN, vocab_size
                        3000 rounded up to pad_vocab_size_multiple 64 (3008 rows)
  models/modernbert/    ModernBertForMaskedLM, "model."-prefixed names + head;
                        pre-norm without biases, GeGLU, rotary with a global and a
                        local theta, global attention every 2nd layer and a
                        16-token local window (8 each side) on the others
  models/<arch>/expected.safetensors   expected outputs (see expected_outputs)
  models/<arch>/tokenizer.json, tokenizer_config.json   copied from tests/golden/tokenizers/
                        (TOKENIZERS), so that attnserve can serve the directories
  models/modernbert/expected_8192.safetensors   the ModernBERT on one sequence of
                        8192 tokens (inputs.json "modernbert_8192"): hidden states
                        of a subset of rows ("rows")
  models/inputs.json    the token-id sequences (lengths 7, 13, 1, 40, 80, 2)
  models/mpnet/relative_buckets.safetensors   HF's relative_position_bucket for
                        relative positions -300..300 (F32 of the integer buckets)

Run from anywhere with /usr/bin/python3 (torch); output is deterministic.
"""
import json
import math
import os
import shutil

import torch
import torch.nn.functional as F

from gen_encoder import save_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")
# Large enough for the tokenizer copied into each directory (the largest, roberta-bpe, has
# 2766 ids), so the server can load and serve the golden models.
VOCAB = 3000
# The tokenizer of each model directory (tokenizer.json and tokenizer_config.json from
# tests/golden/tokenizers/, written by make_test_tokenizers.mjs): the kind each architecture
# ships with. The expectations are for token ids; these only make the directories servable.
TOKENIZERS = {"xlm_roberta": "xlmr-sentencepiece", "roberta": "roberta-bpe",
              "mpnet": "bert-mini-uncased", "nomic_bert": "bert-mini-uncased",
              "modernbert": "roberta-bpe"}
LENGTHS = [7, 13, 1, 40, 80, 2]
torch.set_default_dtype(torch.float64)


def normal(gen, *shape, std=0.2, mean=0.0):
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * std + mean)


def make_inputs(gen, first, last, lo):
    """Token-id sequences [first ... last] avoiding ids below lo (specials, pad)."""
    seqs = []
    for n in LENGTHS:
        ids = torch.randint(lo, VOCAB, (n,), generator=gen).tolist()
        if n >= 2:
            ids[0], ids[-1] = first, last
        seqs.append(ids)
    return seqs


def pad_batch(seqs, pad_id):
    B, S = len(seqs), max(len(s) for s in seqs)
    ids = torch.full((B, S), pad_id, dtype=torch.long)
    mask = torch.zeros(B, S, dtype=torch.bool)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = torch.tensor(s)
        mask[b, :len(s)] = True
    return ids, mask


# The additive mask value of HF's get_extended_attention_mask / _prepare_4d_attention_mask:
# finite, so that padded query rows (which see no key in a local window) stay finite.
MASKED = torch.finfo(torch.float64).min


def additive_mask(mask):
    """[B, S] bool -> [B, 1, 1, S] additive (0 or MASKED)."""
    return torch.zeros(mask.shape).masked_fill(~mask, MASKED)[:, None, None, :]


def layer_norm(x, w, prefix, eps, bias=True):
    return F.layer_norm(x, (x.shape[-1],), w[prefix + ".weight"],
                        w[prefix + ".bias"] if bias else None, eps)


def linear(x, w, prefix, bias=True):
    return F.linear(x, w[prefix + ".weight"], w[prefix + ".bias"] if bias else None)


def heads(x, n):
    """[B, S, n*d] -> [B, n, S, d]."""
    B, S, _ = x.shape
    return x.view(B, S, n, -1).transpose(1, 2)


def merge(x):
    """[B, n, S, d] -> [B, S, n*d]."""
    B, n, S, d = x.shape
    return x.transpose(1, 2).reshape(B, S, n * d)


def attend(q, k, v, mask, bias=None):
    """q, k, v [B, n, S, d]; mask [B, 1, S or 1, S] additive; bias [1 or B, n, S, S]."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if bias is not None:
        scores = scores + bias
    probs = torch.softmax(scores + mask, dim=-1)
    return probs @ v, probs


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rotary(x, positions, base, rot_dim):
    """NeoX-style rotary on the first rot_dim dims of each head of x [B, n, S, d]."""
    inv_freq = 1.0 / (base ** (torch.arange(0, rot_dim, 2, dtype=torch.float64) / rot_dim))
    freqs = positions[:, None].double() * inv_freq[None, :]  # [S, rot_dim/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    xr, rest = x[..., :rot_dim], x[..., rot_dim:]
    return torch.cat((xr * cos + rotate_half(xr) * sin, rest), dim=-1)


def gelu(x):
    return F.gelu(x)


# ----------------------------------------------------------------- RoBERTa family
ROBERTA = dict(hidden=32, heads=4, layers=2, inter=64, max_pos=130, pad=1)


def roberta_weights(gen, c):
    H, I = c["hidden"], c["inter"]
    w = {
        "embeddings.word_embeddings.weight": normal(gen, VOCAB, H, std=0.5),
        "embeddings.position_embeddings.weight": normal(gen, c["max_pos"], H, std=0.5),
        "embeddings.token_type_embeddings.weight": normal(gen, 1, H, std=0.5),
        "embeddings.LayerNorm.weight": normal(gen, H, std=0.1, mean=1.0),
        "embeddings.LayerNorm.bias": normal(gen, H, std=0.1),
        "pooler.dense.weight": normal(gen, H, H, std=0.3),
        "pooler.dense.bias": normal(gen, H, std=0.1),
    }
    for i in range(c["layers"]):
        p = f"encoder.layer.{i}."
        # Query and key at std 0.3: peaked attention (over the 40-token sequence the mean
        # row maximum is 0.38, some rows near one-hot; at 0.15 the maps were nearly flat,
        # 0.07, and a wrong key would hardly show), yet not so one-hot that BF16's
        # rounding of q and k (which grows with the score scale) breaks cosine 0.999:
        # emulated in float64 with BF16-rounded matmul inputs, the worst token is 0.99988.
        for name, std in [("attention.self.query", 0.3), ("attention.self.key", 0.3),
                          ("attention.self.value", 0.3), ("attention.output.dense", 0.3)]:
            w[p + name + ".weight"] = normal(gen, H, H, std=std)
            w[p + name + ".bias"] = normal(gen, H, std=0.1)
        w[p + "intermediate.dense.weight"] = normal(gen, I, H, std=0.3)
        w[p + "intermediate.dense.bias"] = normal(gen, I, std=0.1)
        w[p + "output.dense.weight"] = normal(gen, H, I, std=0.2)
        w[p + "output.dense.bias"] = normal(gen, H, std=0.1)
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"]:
            w[p + ln + ".weight"] = normal(gen, H, std=0.1, mean=1.0)
            w[p + ln + ".bias"] = normal(gen, H, std=0.1)
    return w


def roberta_forward(w, c, seqs):
    """RobertaModel: BERT with position ids create_position_ids_from_input_ids
    (cumsum of non-pad tokens + padding_idx) and type 0 everywhere."""
    ids, mask = pad_batch(seqs, c["pad"])
    not_pad = ids.ne(c["pad"]).long()
    positions = torch.cumsum(not_pad, dim=1) * not_pad + c["pad"]
    x = (w["embeddings.word_embeddings.weight"][ids] +
         w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)] +
         w["embeddings.position_embeddings.weight"][positions])
    x = layer_norm(x, w, "embeddings.LayerNorm", 1e-5)
    m = additive_mask(mask)
    maps = []
    for i in range(c["layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (heads(linear(x, w, p + "attention.self." + n), c["heads"])
                   for n in ("query", "key", "value"))
        ctx, probs = attend(q, k, v, m)
        maps.append(probs)
        x = layer_norm(linear(merge(ctx), w, p + "attention.output.dense") + x, w,
                       p + "attention.output.LayerNorm", 1e-5)
        h = gelu(linear(x, w, p + "intermediate.dense"))
        x = layer_norm(linear(h, w, p + "output.dense") + x, w, p + "output.LayerNorm", 1e-5)
    pooled = torch.tanh(linear(x[:, 0], w, "pooler.dense")) if "pooler.dense.weight" in w else None
    return x, maps, pooled


def roberta_config(c, arch, model_type):
    return {
        "architectures": [arch], "model_type": model_type,
        "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "eos_token_id": 2,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": c["hidden"],
        "initializer_range": 0.02, "intermediate_size": c["inter"], "layer_norm_eps": 1e-05,
        "max_position_embeddings": c["max_pos"], "num_attention_heads": c["heads"],
        "num_hidden_layers": c["layers"], "output_past": True, "pad_token_id": c["pad"],
        "position_embedding_type": "absolute", "torch_dtype": "float32",
        "type_vocab_size": 1, "use_cache": True, "vocab_size": VOCAB,
    }


# ------------------------------------------------------------------------ MPNet
MPNET = dict(hidden=32, heads=4, layers=2, inter=64, max_pos=130, buckets=32)


def mpnet_weights(gen, c):
    H, I = c["hidden"], c["inter"]
    w = {
        "embeddings.word_embeddings.weight": normal(gen, VOCAB, H, std=0.5),
        "embeddings.position_embeddings.weight": normal(gen, c["max_pos"], H, std=0.5),
        "embeddings.LayerNorm.weight": normal(gen, H, std=0.1, mean=1.0),
        "embeddings.LayerNorm.bias": normal(gen, H, std=0.1),
        "encoder.relative_attention_bias.weight": normal(gen, c["buckets"], c["heads"], std=1.0),
        "pooler.dense.weight": normal(gen, H, H, std=0.3),
        "pooler.dense.bias": normal(gen, H, std=0.1),
    }
    for i in range(c["layers"]):
        p = f"encoder.layer.{i}."
        for name, std in [("attention.attn.q", 0.15), ("attention.attn.k", 0.15),
                          ("attention.attn.v", 0.3), ("attention.attn.o", 0.3)]:
            w[p + name + ".weight"] = normal(gen, H, H, std=std)
            w[p + name + ".bias"] = normal(gen, H, std=0.1)
        w[p + "intermediate.dense.weight"] = normal(gen, I, H, std=0.3)
        w[p + "intermediate.dense.bias"] = normal(gen, I, std=0.1)
        w[p + "output.dense.weight"] = normal(gen, H, I, std=0.2)
        w[p + "output.dense.bias"] = normal(gen, H, std=0.1)
        for ln in ["attention.LayerNorm", "output.LayerNorm"]:
            w[p + ln + ".weight"] = normal(gen, H, std=0.1, mean=1.0)
            w[p + ln + ".bias"] = normal(gen, H, std=0.1)
    return w


def hf_relative_position_bucket(relative_position, num_buckets=32, max_distance=128):
    """MPNetEncoder.relative_position_bucket, verbatim semantics (float32 log)."""
    ret = 0
    n = -relative_position
    num_buckets //= 2
    ret += (n < 0).to(torch.long) * num_buckets
    n = torch.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (
        torch.log(n.to(torch.float32) / max_exact) / math.log(max_distance / max_exact) *
        (num_buckets - max_exact)).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    ret += torch.where(is_small, n, val_if_large)
    return ret


def mpnet_forward(w, c, seqs):
    """MPNetModel: word + position (padding_idx 1 offset) embeddings, LayerNorm; BERT
    post-LN layers whose scores get a per-head bias from bucketed relative positions
    (computed once by MPNetEncoder.compute_position_bias, 32 buckets, shared)."""
    pad = 1
    ids, mask = pad_batch(seqs, pad)
    not_pad = ids.ne(pad).long()
    positions = torch.cumsum(not_pad, dim=1) * not_pad + pad
    x = (w["embeddings.word_embeddings.weight"][ids] +
         w["embeddings.position_embeddings.weight"][positions])
    x = layer_norm(x, w, "embeddings.LayerNorm", 1e-12)
    S = ids.shape[1]
    rel = torch.arange(S)[None, :] - torch.arange(S)[:, None]  # memory - context
    bias = w["encoder.relative_attention_bias.weight"][hf_relative_position_bucket(rel)]
    bias = bias.permute(2, 0, 1)[None]  # [1, heads, S, S]
    m = additive_mask(mask)
    maps = []
    for i in range(c["layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (heads(linear(x, w, p + "attention.attn." + n), c["heads"])
                   for n in ("q", "k", "v"))
        ctx, probs = attend(q, k, v, m, bias)
        maps.append(probs)
        x = layer_norm(linear(merge(ctx), w, p + "attention.attn.o") + x, w,
                       p + "attention.LayerNorm", 1e-12)
        h = gelu(linear(x, w, p + "intermediate.dense"))
        x = layer_norm(linear(h, w, p + "output.dense") + x, w, p + "output.LayerNorm", 1e-12)
    pooled = torch.tanh(linear(x[:, 0], w, "pooler.dense"))
    return x, maps, pooled


def mpnet_config(c):
    return {
        "architectures": ["MPNetForMaskedLM"], "model_type": "mpnet",
        "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "eos_token_id": 2,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": c["hidden"],
        "initializer_range": 0.02, "intermediate_size": c["inter"], "layer_norm_eps": 1e-12,
        "max_position_embeddings": c["max_pos"], "num_attention_heads": c["heads"],
        "num_hidden_layers": c["layers"], "pad_token_id": 1,
        "relative_attention_num_buckets": c["buckets"], "vocab_size": VOCAB,
    }


# -------------------------------------------------------------------- NomicBERT
NOMIC = dict(hidden=64, heads=4, layers=2, n_inner=200, fraction=0.5, base=1000.0,
             eps=1e-12, types=2, vocab_multiple=64)


def nomic_inner(c):
    # NomciBertGatedMLP: hidden_features rounded up to a multiple of 256.
    return (c["n_inner"] + 255) // 256 * 256


def nomic_vocab(c):
    # NomicBertModel rounds vocab_size up to a multiple of pad_vocab_size_multiple.
    return (VOCAB + c["vocab_multiple"] - 1) // c["vocab_multiple"] * c["vocab_multiple"]


def nomic_weights(gen, c):
    H, I = c["hidden"], nomic_inner(c)
    w = {
        "embeddings.word_embeddings.weight": normal(gen, nomic_vocab(c), H, std=0.5),
        "embeddings.token_type_embeddings.weight": normal(gen, c["types"], H, std=0.5),
        "emb_ln.weight": normal(gen, H, std=0.1, mean=1.0),
        "emb_ln.bias": normal(gen, H, std=0.1),
    }
    for i in range(c["layers"]):
        p = f"encoder.layers.{i}."
        w[p + "attn.Wqkv.weight"] = normal(gen, 3 * H, H, std=0.12)
        w[p + "attn.out_proj.weight"] = normal(gen, H, H, std=0.25)
        w[p + "mlp.fc11.weight"] = normal(gen, I, H, std=0.25)
        w[p + "mlp.fc12.weight"] = normal(gen, I, H, std=0.25)
        w[p + "mlp.fc2.weight"] = normal(gen, H, I, std=0.1)
        for ln in ["norm1", "norm2"]:
            w[p + ln + ".weight"] = normal(gen, H, std=0.1, mean=1.0)
            w[p + ln + ".bias"] = normal(gen, H, std=0.1)
    return w


def nomic_forward(w, c, seqs, types):
    """NomicBertModel (prenorm false): word + token type embeddings (no position
    table when rotary_emb_fraction > 0), emb_ln; per layer Wqkv ("(three h d)"),
    rotary on the first head_dim * fraction dims of q and k (not interleaved),
    attention, out_proj, norm1(attn + x), SwiGLU fc2(fc11(x) * silu(fc12(x))),
    norm2(mlp + x). Biases off (qkv_proj_bias, mlp_fc1_bias, mlp_fc2_bias false)."""
    ids, mask = pad_batch(seqs, 0)
    tt = torch.zeros_like(ids)
    for b, t in enumerate(types):
        tt[b, :len(t)] = torch.tensor(t)
    H, n = c["hidden"], c["heads"]
    d = H // n
    rot = int(d * c["fraction"])
    x = w["embeddings.word_embeddings.weight"][ids] + \
        w["embeddings.token_type_embeddings.weight"][tt]
    x = layer_norm(x, w, "emb_ln", c["eps"])
    S = ids.shape[1]
    pos = torch.arange(S)
    m = additive_mask(mask)
    maps = []
    for i in range(c["layers"]):
        p = f"encoder.layers.{i}."
        qkv = linear(x, w, p + "attn.Wqkv", bias=False)
        q, k, v = (heads(t, n) for t in qkv.split(H, dim=-1))
        q, k = rotary(q, pos, c["base"], rot), rotary(k, pos, c["base"], rot)
        ctx, probs = attend(q, k, v, m)
        maps.append(probs)
        x = layer_norm(linear(merge(ctx), w, p + "attn.out_proj", bias=False) + x, w,
                       p + "norm1", c["eps"])
        h = linear(x, w, p + "mlp.fc11", bias=False) * \
            F.silu(linear(x, w, p + "mlp.fc12", bias=False))
        x = layer_norm(linear(h, w, p + "mlp.fc2", bias=False) + x, w, p + "norm2", c["eps"])
    return x, maps, None


def nomic_config(c):
    return {
        "architectures": ["NomicBertModel"], "model_type": "nomic_bert",
        "activation_function": "swiglu", "attn_pdrop": 0.0, "auto_map": {
            "AutoConfig": "nomic-ai/nomic-bert-2048--configuration_hf_nomic_bert.NomicBertConfig",
            "AutoModel": "nomic-ai/nomic-bert-2048--modeling_hf_nomic_bert.NomicBertModel"},
        "bos_token_id": None, "causal": False, "dense_seq_output": True,
        "embd_pdrop": 0.0, "eos_token_id": None, "fused_bias_fc": True,
        "fused_dropout_add_ln": True, "initializer_range": 0.02,
        "layer_norm_epsilon": c["eps"], "max_trained_positions": 2048,
        "mlp_fc1_bias": False, "mlp_fc2_bias": False, "n_embd": c["hidden"],
        "n_head": c["heads"], "n_inner": c["n_inner"], "n_layer": c["layers"],
        "n_positions": 2048, "pad_vocab_size_multiple": c["vocab_multiple"], "parallel_block": False,
        "parallel_block_tied_norm": False, "prenorm": False, "qkv_proj_bias": False,
        "reorder_and_upcast_attn": False, "resid_pdrop": 0.0,
        "rotary_emb_base": c["base"], "rotary_emb_fraction": c["fraction"],
        "rotary_emb_interleaved": False, "rotary_emb_scale_base": None,
        "rotary_scaling_factor": None, "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True, "summary_activation": None,
        "summary_first_dropout": 0.0, "summary_proj_to_labels": True,
        "summary_type": "cls_index", "summary_use_proj": True,
        "torch_dtype": "float32", "type_vocab_size": c["types"], "use_cache": True,
        "use_flash_attn": True, "use_rms_norm": False, "use_xentropy": True,
        "vocab_size": VOCAB,
    }


# ------------------------------------------------------------------- ModernBERT
MODERN = dict(hidden=64, heads=4, layers=3, inter=48, every=2, window=16,
              global_theta=160000.0, local_theta=10000.0, eps=1e-5, max_pos=8192)


def modern_weights(gen, c):
    H, I = c["hidden"], c["inter"]
    w = {
        "embeddings.tok_embeddings.weight": normal(gen, VOCAB, H, std=0.5),
        "embeddings.norm.weight": normal(gen, H, std=0.1, mean=1.0),
        "final_norm.weight": normal(gen, H, std=0.1, mean=1.0),
    }
    for i in range(c["layers"]):
        p = f"layers.{i}."
        if i != 0:  # layer 0's attn_norm is nn.Identity
            w[p + "attn_norm.weight"] = normal(gen, H, std=0.1, mean=1.0)
        w[p + "attn.Wqkv.weight"] = normal(gen, 3 * H, H, std=0.12)
        w[p + "attn.Wo.weight"] = normal(gen, H, H, std=0.2)
        w[p + "mlp_norm.weight"] = normal(gen, H, std=0.1, mean=1.0)
        w[p + "mlp.Wi.weight"] = normal(gen, 2 * I, H, std=0.25)
        w[p + "mlp.Wo.weight"] = normal(gen, H, I, std=0.2)
    return w


def modern_is_global(c, i):
    return i % c["every"] == 0


def modern_forward(w, c, seqs):
    """ModernBertModel (eager path): tok_embeddings, norm (no bias); per layer
    x += Wo(attn(attn_norm(x))) with Wqkv split "(3 heads d)", rotary on all of q
    and k (global_rope_theta on layers i % global_attn_every_n_layers == 0, else
    local_rope_theta), local layers masked to |i - j| <= local_attention // 2;
    x += Wo(gelu(in) * gate) with in, gate = Wi(mlp_norm(x)).chunk(2); final_norm."""
    ids, mask = pad_batch(seqs, 0)
    H, n = c["hidden"], c["heads"]
    d = H // n
    x = layer_norm(w["embeddings.tok_embeddings.weight"][ids], w, "embeddings.norm", c["eps"],
                   bias=False)
    S = ids.shape[1]
    pos = torch.arange(S)
    m = additive_mask(mask)
    far = (pos[None, :] - pos[:, None]).abs() > c["window"] // 2
    local_m = m.masked_fill(far[None, None], MASKED)
    maps = []
    for i in range(c["layers"]):
        p = f"layers.{i}."
        g = modern_is_global(c, i)
        h = x if i == 0 else layer_norm(x, w, p + "attn_norm", c["eps"], bias=False)
        qkv = linear(h, w, p + "attn.Wqkv", bias=False)
        q, k, v = (heads(t, n) for t in qkv.split(H, dim=-1))
        theta = c["global_theta"] if g else c["local_theta"]
        q, k = rotary(q, pos, theta, d), rotary(k, pos, theta, d)
        ctx, probs = attend(q, k, v, m if g else local_m)
        maps.append(probs)
        x = x + linear(merge(ctx), w, p + "attn.Wo", bias=False)
        inp, gate = linear(layer_norm(x, w, p + "mlp_norm", c["eps"], bias=False), w,
                           p + "mlp.Wi", bias=False).chunk(2, dim=-1)
        x = x + linear(gelu(inp) * gate, w, p + "mlp.Wo", bias=False)
    x = layer_norm(x, w, "final_norm", c["eps"], bias=False)
    return x, maps, None


def long_ids(length):
    """The 8192-token ModernBERT input: [CLS] ... [SEP] with a fixed pattern of ids."""
    ids = [4 + (i * 7919) % (VOCAB - 4) for i in range(length)]
    ids[0], ids[-1] = 2, 3
    return ids


def modern_forward_long(w, c, ids, chunk=512):
    """modern_forward for one unpadded sequence, with the attention scores of
    `chunk` queries at a time (a [heads, S, S] float64 matrix would not fit)."""
    H, n = c["hidden"], c["heads"]
    d = H // n
    S = len(ids)
    x = layer_norm(w["embeddings.tok_embeddings.weight"][torch.tensor(ids)][None], w,
                   "embeddings.norm", c["eps"], bias=False)
    pos = torch.arange(S)
    for i in range(c["layers"]):
        p = f"layers.{i}."
        g = modern_is_global(c, i)
        h = x if i == 0 else layer_norm(x, w, p + "attn_norm", c["eps"], bias=False)
        q, k, v = (heads(t, n) for t in linear(h, w, p + "attn.Wqkv", bias=False).split(H, -1))
        theta = c["global_theta"] if g else c["local_theta"]
        q, k = rotary(q, pos, theta, d), rotary(k, pos, theta, d)
        ctx = torch.empty_like(q)
        for start in range(0, S, chunk):
            rows = pos[start:start + chunk]
            scores = q[:, :, start:start + chunk] @ k.transpose(-1, -2) / math.sqrt(d)
            if not g:
                far = (pos[None, :] - rows[:, None]).abs() > c["window"] // 2
                scores = scores.masked_fill(far[None, None], MASKED)
            ctx[:, :, start:start + chunk] = torch.softmax(scores, dim=-1) @ v
        x = x + linear(merge(ctx), w, p + "attn.Wo", bias=False)
        inp, gate = linear(layer_norm(x, w, p + "mlp_norm", c["eps"], bias=False), w,
                           p + "mlp.Wi", bias=False).chunk(2, dim=-1)
        x = x + linear(gelu(inp) * gate, w, p + "mlp.Wo", bias=False)
    return layer_norm(x, w, "final_norm", c["eps"], bias=False)[0]


LONG_ROWS = list(range(0, 64)) + list(range(64, 8192 - 64, 61)) + list(range(8192 - 64, 8192))


def modern_config(c):
    return {
        "architectures": ["ModernBertForMaskedLM"], "model_type": "modernbert",
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 2,
        "classifier_activation": "gelu", "classifier_bias": False,
        "classifier_dropout": 0.0, "classifier_pooling": "mean", "cls_token_id": 2,
        "decoder_bias": True, "deterministic_flash_attn": False, "embedding_dropout": 0.0,
        "eos_token_id": 3, "global_attn_every_n_layers": c["every"],
        "global_rope_theta": c["global_theta"], "gradient_checkpointing": False,
        "hidden_activation": "gelu", "hidden_size": c["hidden"],
        "initializer_cutoff_factor": 2.0, "initializer_range": 0.02,
        "intermediate_size": c["inter"], "layer_norm_eps": c["eps"],
        "local_attention": c["window"], "local_rope_theta": c["local_theta"],
        "max_position_embeddings": c["max_pos"], "mlp_bias": False, "mlp_dropout": 0.0,
        "model_type": "modernbert", "norm_bias": False, "norm_eps": c["eps"],
        "num_attention_heads": c["heads"], "num_hidden_layers": c["layers"],
        "pad_token_id": 0, "position_embedding_type": "absolute", "sep_token_id": 3,
        "tie_word_embeddings": True, "torch_dtype": "float32", "vocab_size": VOCAB,
    }


# ------------------------------------------------------------------------ output
def expected_outputs(x, maps, pooled, lengths, map_lengths=(40,)):
    """hidden [T, H] packed; pooled_{cls,mean,max,mean_normalized} [B, H];
    pooler [B, H] when the model has one; attention.<layer>.<b> [heads, n, n] for
    every layer of the sequences of lengths <= 13 or in map_lengths."""
    out = {"hidden": torch.cat([x[b, :n] for b, n in enumerate(lengths)])}
    out["pooled_cls"] = torch.stack([x[b, 0] for b in range(len(lengths))])
    mean = torch.stack([x[b, :n].mean(0) for b, n in enumerate(lengths)])
    out["pooled_mean"] = mean
    out["pooled_max"] = torch.stack([x[b, :n].max(0).values for b, n in enumerate(lengths)])
    out["pooled_mean_normalized"] = F.normalize(mean, dim=-1)
    if pooled is not None:
        out["pooler"] = pooled
    for layer, probs in enumerate(maps):
        for b, n in enumerate(lengths):
            if n <= 13 or n in map_lengths:
                out[f"attention.{layer}.{b}"] = probs[b, :, :n, :n]
    return {k: v.float().contiguous() for k, v in out.items()}


def write_model(name, config, stored, expected, extra_files=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_safetensors(os.path.join(d, "model.safetensors"),
                     {k: v.float().contiguous() for k, v in stored.items()}, {"format": "pt"})
    save_safetensors(os.path.join(d, "expected.safetensors"), expected)
    for fname, content in (extra_files or {}).items():
        with open(os.path.join(d, fname), "w") as f:
            json.dump(content, f, indent=2)
    tokenizer = os.path.join(HERE, "tokenizers", TOKENIZERS[name])
    shutil.copy(os.path.join(tokenizer, "tokenizer.json"), os.path.join(d, "tokenizer.json"))
    with open(os.path.join(tokenizer, "tokenizer_config.json")) as f:
        tokenizer_config = json.load(f)
    # The model's own length limit applies (the test tokenizers say 64 or 512).
    tokenizer_config.pop("model_max_length", None)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config, f, indent=2)


def main():
    gen = torch.Generator().manual_seed(20261202)
    os.makedirs(OUT, exist_ok=True)
    inputs = {}

    # XLM-RoBERTa: bare names, pooler. <s>=0 <pad>=1 </s>=2 <unk>=3.
    seqs = make_inputs(gen, 0, 2, 4)
    inputs["xlm_roberta"] = seqs
    w = roberta_weights(gen, ROBERTA)
    x, maps, pooled = roberta_forward({k: v.double() for k, v in w.items()}, ROBERTA, seqs)
    write_model("xlm_roberta", roberta_config(ROBERTA, "XLMRobertaModel", "xlm-roberta"), w,
                expected_outputs(x, maps, pooled, LENGTHS))

    # RoBERTa: "roberta." prefix (RobertaForMaskedLM) plus the LM head.
    seqs = make_inputs(gen, 0, 2, 4)
    inputs["roberta"] = seqs
    w = roberta_weights(gen, ROBERTA)
    del w["pooler.dense.weight"], w["pooler.dense.bias"]  # add_pooling_layer=False
    x, maps, _ = roberta_forward({k: v.double() for k, v in w.items()}, ROBERTA, seqs)
    stored = {"roberta." + k: v for k, v in w.items()}
    H = ROBERTA["hidden"]
    stored["lm_head.dense.weight"] = normal(gen, H, H)
    stored["lm_head.dense.bias"] = normal(gen, H)
    stored["lm_head.layer_norm.weight"] = normal(gen, H, mean=1.0)
    stored["lm_head.layer_norm.bias"] = normal(gen, H)
    stored["lm_head.bias"] = normal(gen, VOCAB)
    write_model("roberta", roberta_config(ROBERTA, "RobertaForMaskedLM", "roberta"), stored,
                expected_outputs(x, maps, None, LENGTHS))

    # MPNet: "mpnet." prefix (MPNetForMaskedLM) plus the LM head.
    seqs = make_inputs(gen, 0, 2, 4)
    inputs["mpnet"] = seqs
    w = mpnet_weights(gen, MPNET)
    x, maps, pooled = mpnet_forward({k: v.double() for k, v in w.items()}, MPNET, seqs)
    stored = {"mpnet." + k: v for k, v in w.items()}
    H = MPNET["hidden"]
    stored["lm_head.dense.weight"] = normal(gen, H, H)
    stored["lm_head.dense.bias"] = normal(gen, H)
    stored["lm_head.layer_norm.weight"] = normal(gen, H, mean=1.0)
    stored["lm_head.layer_norm.bias"] = normal(gen, H)
    stored["lm_head.bias"] = normal(gen, VOCAB)
    write_model("mpnet", mpnet_config(MPNET), stored, expected_outputs(x, maps, pooled, LENGTHS))
    rel = torch.arange(-300, 301)
    save_safetensors(os.path.join(OUT, "mpnet", "relative_buckets.safetensors"), {
        "relative_position": rel.float(),
        "bucket": hf_relative_position_bucket(rel).float()})

    # NomicBERT: bare names; a sentence pair in the second sequence.
    seqs = make_inputs(gen, 2, 3, 4)
    types = [[0] * len(s) for s in seqs]
    types[1] = [0] * 6 + [1] * 7
    inputs["nomic_bert"] = seqs
    inputs["nomic_bert_token_types"] = types
    w = nomic_weights(gen, NOMIC)
    x, maps, _ = nomic_forward({k: v.double() for k, v in w.items()}, NOMIC, seqs, types)
    write_model("nomic_bert", nomic_config(NOMIC), w, expected_outputs(x, maps, None, LENGTHS))

    # ModernBERT: "model." prefix (ModernBertForMaskedLM) plus head and decoder bias.
    seqs = make_inputs(gen, 2, 3, 4)
    inputs["modernbert"] = seqs
    w = modern_weights(gen, MODERN)
    x, maps, _ = modern_forward({k: v.double() for k, v in w.items()}, MODERN, seqs)
    stored = {"model." + k: v for k, v in w.items()}
    H = MODERN["hidden"]
    stored["head.dense.weight"] = normal(gen, H, H)
    stored["head.norm.weight"] = normal(gen, H, mean=1.0)
    stored["decoder.bias"] = normal(gen, VOCAB)
    write_model("modernbert", modern_config(MODERN), stored,
                expected_outputs(x, maps, None, LENGTHS, map_lengths=(40, 80)))

    # The same ModernBERT on one sequence of max_position_embeddings (8192) tokens:
    # hidden states of the rows in LONG_ROWS (the first and last 64, every 61st).
    x = modern_forward_long({k: v.double() for k, v in w.items()}, MODERN,
                            long_ids(MODERN["max_pos"]))
    save_safetensors(os.path.join(OUT, "modernbert", "expected_8192.safetensors"), {
        "rows": torch.tensor(LONG_ROWS, dtype=torch.float32),
        "hidden": x[LONG_ROWS].float().contiguous()})
    inputs["modernbert_8192"] = long_ids(MODERN["max_pos"])

    with open(os.path.join(OUT, "inputs.json"), "w") as f:
        json.dump(inputs, f)


if __name__ == "__main__":
    main()
