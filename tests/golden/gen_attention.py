#!/usr/bin/python3
"""Writes tests/golden/attention_cases.json: attention cases computed by torch.

Independent of attnserve's code: the visibility of every (query, key) pair is
built explicitly from CONTRACT.md §4/§8 as a boolean tensor, then
softmax(scale * Q K^T + mask + gaussian bias) V is computed with plain torch
ops in float64 (HARD: a stable descending sort keeps the top_k visible keys,
ties going to the lower key index). BF16 compute rounds q, k, v to bfloat16
first. Rerun with:  /usr/bin/python3 tests/golden/gen_attention.py
"""
import json
import math
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention_cases.json")
rng = np.random.default_rng(20261127)


def normal(shape):
    return rng.standard_normal(shape).astype(np.float32)


def quantized(shape, levels=16):
    """Multiples of 1/8 in [-levels/8, levels/8]: exact in float and bf16, so HARD
    rankings (and ties) do not depend on rounding."""
    return (rng.integers(-levels, levels + 1, size=shape) / 8.0).astype(np.float32)


def visibility(spec, b, sq, sk, key_lengths):
    i = torch.arange(sq).view(sq, 1)
    j = torch.arange(sk).view(1, sk)
    p = i + (sk - sq)
    vis = torch.ones(b, 1, sq, sk, dtype=torch.bool)
    if key_lengths:
        lengths = torch.tensor(key_lengths).view(b, 1, 1, 1)
        vis &= j.view(1, 1, 1, sk) < lengths
    if spec.get("causal"):
        vis &= (j <= p).view(1, 1, sq, sk)
    if spec.get("scope") == "LOCAL":
        in_window = (j >= p - spec.get("window_left", 0)) & (j <= p + spec.get("window_right", 0))
        g = torch.zeros(sk, dtype=torch.bool)
        for pos in spec.get("global_positions", []):
            g[pos] = True
        global_key = g.view(1, sk).expand(sq, sk)
        global_query = torch.tensor([bool((int(pi) >= 0) and (int(pi) < sk) and g[int(pi)])
                                     for pi in p.view(-1)]).view(sq, 1)
        vis &= (in_window | global_key | global_query).view(1, 1, sq, sk)
    return vis


def attend(spec, q, k, v, mask, key_lengths, bf16):
    if bf16:
        q, k, v = (torch.from_numpy(t).bfloat16() for t in (q, k, v))
    else:
        q, k, v = (torch.from_numpy(t) for t in (q, k, v))
    q, k, v = q.double(), k.double(), v.double()
    b, h, sq, d = q.shape
    sk = k.shape[2]
    scale = spec.get("scale", 0.0) or 1.0 / math.sqrt(d)
    scale = float(np.float32(scale))
    scores = scale * torch.matmul(q, k.transpose(-1, -2))
    vis = visibility(spec, b, sq, sk, key_lengths).expand(b, h, sq, sk)
    if mask is not None:
        m = torch.from_numpy(mask).double()
        scores = scores + m
        vis = vis & (m != -math.inf).expand(b, h, sq, sk)
    sigma = spec.get("gaussian_sigma", 0.0)
    if spec.get("scope") == "LOCAL" and sigma > 0:
        i = torch.arange(sq).view(sq, 1)
        j = torch.arange(sk).view(1, sk)
        dist = (j - (i + sk - sq)).double()
        scores = scores - dist * dist / (2 * float(np.float32(sigma)) ** 2)
    scores = torch.where(vis, scores, torch.tensor(-math.inf, dtype=torch.float64))
    keep = vis
    if spec.get("weighting") == "HARD":
        order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
        top = torch.zeros_like(vis)
        top.scatter_(-1, order[..., : spec["top_k"]], True)
        keep = vis & top
    logits = torch.where(keep, scores, torch.tensor(-math.inf, dtype=torch.float64))
    any_visible = keep.any(dim=-1, keepdim=True)
    weights = torch.softmax(torch.where(any_visible, logits, torch.zeros_like(logits)), dim=-1)
    weights = torch.where(keep, weights, torch.zeros_like(weights))
    out = torch.matmul(weights, v)
    return out, weights


def tensor_json(t):
    t = np.asarray(t, dtype=np.float64)
    # JSON has no infinities: -inf (a masked position) is written as the string "-inf".
    return {"shape": list(t.shape),
            "values": ["-inf" if x == -np.inf else float("%.9g" % x) for x in t.reshape(-1)]}


cases = []


def add(name, spec, b, h, sq, sk, d, dv=None, mask_shape=None, key_lengths=(), bf16=False,
        quant=False, self_attention=False, weights=True, mask_fn=None, levels=16):
    dv = dv or d

    def gen(shape):
        return quantized(shape, levels) if quant else normal(shape)
    q = gen((b, h, sq, d))
    if self_attention:
        k, v = q, q
    else:
        k, v = gen((b, h, sk, d)), gen((b, h, sk, dv))
    mask = None
    if mask_shape is not None:
        mask = quantized(mask_shape) if quant else normal(mask_shape)
        if mask_fn:
            mask_fn(mask)
    out, w = attend(spec, q, k, v, mask, list(key_lengths), bf16)
    case = {"name": name, "spec": spec, "query": tensor_json(q), "key": tensor_json(k),
            "value": tensor_json(v), "key_lengths": list(key_lengths),
            "compute_dtype": "BF16" if bf16 else "FP32", "output": tensor_json(out)}
    if mask is not None:
        case["mask"] = tensor_json(mask)
    if weights:
        case["weights"] = tensor_json(w)
    cases.append(case)


def minus_inf_where(pred):
    def apply(mask):
        idx = np.indices(mask.shape)
        mask[pred(*idx)] = -np.inf
    return apply


G, L, H = {"scope": "GLOBAL"}, {"scope": "LOCAL"}, {"weighting": "HARD"}
add("soft", {}, 2, 2, 5, 5, 8)
add("soft_scale", {"scale": 0.3}, 2, 2, 4, 6, 8, dv=5)
add("soft_self", {}, 1, 3, 6, 6, 8, self_attention=True)
add("soft_causal", {"causal": True}, 2, 2, 5, 5, 8)
add("soft_q_shorter_causal", {"causal": True}, 2, 2, 3, 7, 8)
add("soft_q_longer_causal", {"causal": True}, 1, 2, 6, 4, 8)
add("soft_q_shorter", {}, 1, 2, 2, 9, 16, dv=3)
add("soft_key_lengths", {}, 3, 2, 4, 6, 8, key_lengths=(3, 0, 6))
add("soft_key_lengths_causal", {"causal": True}, 2, 1, 5, 5, 8, key_lengths=(2, 4))
add("soft_mask_rank4", {}, 2, 2, 3, 4, 8, mask_shape=(2, 2, 3, 4))
add("soft_mask_rank3", {}, 2, 2, 3, 4, 8, mask_shape=(2, 3, 4))
add("soft_mask_rank2", {}, 2, 2, 3, 4, 8, mask_shape=(3, 4))
add("soft_mask_rank1", {}, 2, 2, 3, 4, 8, mask_shape=(4,))
add("soft_mask_rank0", {}, 1, 1, 3, 4, 8, mask_shape=())
add("soft_mask_padding", {}, 2, 2, 3, 5, 8, mask_shape=(2, 1, 1, 5),
    mask_fn=minus_inf_where(lambda b, h, i, j: (j >= 3 - b)))
add("soft_mask_broadcast_mid", {}, 2, 3, 4, 5, 8, mask_shape=(2, 1, 4, 1))
add("soft_fully_masked_rows", {}, 1, 2, 4, 5, 8, mask_shape=(1, 2, 4, 5),
    mask_fn=minus_inf_where(lambda b, h, i, j: (i == 1) | ((h == 1) & (j < 3))))
add("soft_all_masked", {"causal": True}, 1, 1, 3, 3, 8, key_lengths=(0,))
add("soft_bf16", {}, 2, 2, 5, 7, 16, bf16=True)
add("soft_bf16_causal_mask", {"causal": True}, 1, 2, 4, 6, 8, mask_shape=(4, 6), bf16=True)
add("soft_long", {"causal": True}, 1, 2, 70, 75, 24, dv=8, weights=False)

add("hard_top1", dict(H, top_k=1), 2, 2, 4, 6, 8, quant=True)
add("hard_top2", dict(H, top_k=2), 2, 2, 4, 6, 8, quant=True)
add("hard_top3_ties", dict(H, top_k=3, scale=0.5), 1, 2, 5, 7, 4, dv=6, quant=True, levels=3)
add("hard_top1_ties", dict(H, top_k=1, scale=1.0), 1, 2, 5, 7, 1, dv=3, quant=True, levels=1)
add("hard_ties_many", dict(H, top_k=2, scale=1.0), 1, 1, 6, 8, 2, quant=True, levels=2,
    mask_shape=(6, 8), mask_fn=lambda m: m.__setitem__(slice(None), 0.0))
add("hard_top_k_exceeds", dict(H, top_k=50), 1, 2, 3, 5, 8, quant=True)
add("hard_causal", dict(H, top_k=2, causal=True), 2, 1, 5, 5, 8, quant=True,
    key_lengths=(4, 5))
add("hard_mask", dict(H, top_k=2, scale=0.25), 1, 2, 4, 6, 8, quant=True, mask_shape=(1, 2, 4, 6),
    mask_fn=minus_inf_where(lambda b, h, i, j: (j == 0) | (i == 3)))
add("hard_local", dict(H, top_k=2, scope="LOCAL", window_left=2, window_right=1, scale=0.5),
    1, 2, 7, 7, 8, quant=True)
add("hard_local_globals_gauss",
    dict(H, top_k=3, scope="LOCAL", window_left=1, window_right=1, global_positions=[0, 5],
         gaussian_sigma=2.0, scale=0.5), 1, 2, 8, 8, 8, quant=True)
add("hard_bf16", dict(H, top_k=2, scale=0.5), 1, 2, 4, 6, 8, quant=True, bf16=True)

add("local_w1", dict(L, window_left=1, window_right=1), 2, 2, 6, 6, 8)
add("local_left_only", dict(L, window_left=2), 1, 2, 6, 6, 8)
add("local_right_only", dict(L, window_right=3), 1, 2, 6, 6, 8)
add("local_causal", dict(L, window_left=2, window_right=2, causal=True), 1, 2, 6, 6, 8)
add("local_window_covers", dict(L, window_left=2147483647, window_right=2147483647), 1, 2, 5, 6, 8)
add("local_globals", dict(L, window_left=1, window_right=0, global_positions=[0, 4]),
    1, 2, 7, 7, 8)
add("local_globals_q_shorter", dict(L, window_left=1, window_right=1, global_positions=[1, 6]),
    1, 2, 4, 8, 8)
add("local_globals_causal_lengths",
    dict(L, window_left=2, window_right=1, global_positions=[2, 5], causal=True),
    2, 2, 7, 7, 8, key_lengths=(7, 4))
add("local_gaussian", dict(L, window_left=3, window_right=3, gaussian_sigma=1.5), 1, 2, 7, 7, 8)
add("local_gaussian_globals_mask",
    dict(L, window_left=2, window_right=2, gaussian_sigma=0.8, global_positions=[3], scale=0.4),
    2, 2, 6, 7, 8, mask_shape=(2, 1, 6, 7),
    mask_fn=minus_inf_where(lambda b, h, i, j: (j == 2) | ((b == 1) & (i == 0))))
add("local_q_longer", dict(L, window_left=1, window_right=1, causal=True), 1, 1, 6, 4, 8)
add("local_bf16", dict(L, window_left=2, window_right=2, global_positions=[0]), 1, 2, 6, 6, 16,
    bf16=True)
add("local_long", dict(L, window_left=5, window_right=3, global_positions=[0, 66],
                       gaussian_sigma=4.0), 1, 2, 140, 140, 8, weights=False)
add("local_long_q_shorter", dict(L, window_left=7, window_right=0, causal=True),
    1, 1, 70, 150, 8, dv=4, weights=False)

with open(OUT, "w") as f:
    json.dump({"generator": "tests/golden/gen_attention.py", "torch": torch.__version__,
               "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")
