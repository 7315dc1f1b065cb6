#!/usr/bin/env python3
"""Side-by-side encoder benchmark: attnserve's core encoder vs torch 1.13 and ONNX Runtime.

Run with Debian's interpreter, after `./dev build`:
  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/compare_encoder.py [--reps 10] [--rounds 3]
      [--only 8x128,...] [--models bert-base,modernbert-base,...] [--long] [--peers torch,ort]
Every peer gets the same weights (a random model of each architecture written as a Hugging Face
directory; torch peers in peers/torch_bert.py and peers/torch_archs.py, ORT runs their
torch.onnx export), the same shapes and the same thread count (2). --long adds ModernBERT-base
at 2048 and 8192 tokens (minutes per round; ORT's dense attention needs GBs at 8192). Each round runs every peer once per shape; the table gives
the median over rounds of each peer's median time, ratios to attnserve, and achieved GFLOP/s.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.utils.mkldnn

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "peers"))
import torch_archs  # noqa: E402
import torch_bert  # noqa: E402

MODELS = {  # name: (architecture, hidden, layers, heads, intermediate)
    "minilm-l6": ("bert", 384, 6, 12, 1536),
    "bert-base": ("bert", 768, 12, 12, 3072),
    "xlmr-base": ("xlm-roberta", 768, 12, 12, 3072),
    "mpnet-base": ("mpnet", 768, 12, 12, 3072),
    "nomic-embed": ("nomic_bert", 768, 12, 12, 3072),
    "modernbert-base": ("modernbert", 768, 22, 12, 1152),
}
# architecture: (writes a random directory, the torch peer's class)
ARCHS = {
    "bert": (torch_bert.random_bert_dir, torch_bert.TorchBert),
    "xlm-roberta": (torch_bert.random_xlmr_dir, torch_bert.TorchBert),
    "mpnet": (torch_archs.random_mpnet_dir, torch_archs.TorchMpnet),
    "nomic_bert": (torch_archs.random_nomic_dir, torch_archs.TorchNomicBert),
    "modernbert": (torch_archs.random_modernbert_dir, torch_archs.TorchModernBert),
}
MODERNBERT_WINDOW, MODERNBERT_EVERY = 128, 3
MIXED = [8 + (i * 37) % 121 for i in range(32)]  # 32 lengths in 8..128
SHAPES = [  # (model, label, lengths of the sequences in the batch)
    ("minilm-l6", "1x16", [16]),
    ("bert-base", "1x128", [128]),
    ("bert-base", "8x128", [128] * 8),
    ("bert-base", "32x128", [128] * 32),
    ("bert-base", "1x512", [512]),
    ("bert-base", "mixed32", MIXED),
    ("xlmr-base", "8x128", [128] * 8),
    ("mpnet-base", "8x128", [128] * 8),
    ("nomic-embed", "8x128", [128] * 8),
    ("modernbert-base", "8x128", [128] * 8),
    ("modernbert-base", "1x512", [512]),
]
LONG_SHAPES = [("modernbert-base", "1x2048", [2048]), ("modernbert-base", "1x8192", [8192])]


def flops(model, lengths):
    arch, hidden, layers, _, inter = MODELS[model]
    total = 0
    for s in lengths:  # QKV + O: 8 T H^2, FFN: 4 T H I (gated: 6 T H I), attention: 4 T S H
        if arch in ("bert", "xlm-roberta", "mpnet"):
            total += layers * (8 * s * hidden * hidden + 4 * s * hidden * inter +
                               4 * s * s * hidden)
        elif arch == "nomic_bert":
            total += layers * (8 * s * hidden * hidden + 6 * s * hidden * inter +
                               4 * s * s * hidden)
        else:  # ModernBERT: local layers see at most window + 1 keys
            for i in range(layers):
                keys = s if i % MODERNBERT_EVERY == 0 else min(s, MODERNBERT_WINDOW + 1)
                total += 8 * s * hidden * hidden + 6 * s * hidden * inter + 4 * s * keys * hidden
    return total


def median_ms(fn, reps):
    fn()
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def torch_times(arch, model_dir, shapes, reps, threads):
    torch.set_num_threads(threads)
    peer = ARCHS[arch][1]
    model = peer(model_dir).eval()
    # mkldnn only changes nn.Linear modules: TorchBert's.
    mkldnn_model = (torch.utils.mkldnn.to_mkldnn(peer(model_dir).eval()) if arch == "bert"
                    else model)
    out = {}
    with torch.no_grad():
        for label, lengths in shapes:
            b, s = len(lengths), max(lengths)
            ids = torch.randint(1000, 20000, (b, s))
            mask = torch.zeros(b, s, dtype=torch.long)
            for i, n in enumerate(lengths):
                mask[i, :n] = 1
            fp32 = min(median_ms(lambda: m(ids, mask), reps) for m in (model, mkldnn_model))
            with torch.cpu.amp.autocast(dtype=torch.bfloat16):
                bf16 = median_ms(lambda: model(ids, mask), reps)
            out[label] = {"torch": fp32, "torch-bf16": bf16}
    return out


def export_onnx(arch, model_dir, path):
    model = ARCHS[arch][1](model_dir).eval()
    ids = torch.randint(1000, 20000, (2, 16))
    torch.onnx.export(model, (ids, torch.ones_like(ids)), path,
                      input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                      dynamic_axes={"input_ids": {0: "b", 1: "s"},
                                    "attention_mask": {0: "b", 1: "s"}},
                      opset_version=14)


def ort_times(onnx_path, shapes, reps, threads):
    peers = HERE / "peers"
    if not (peers / "node_modules" / "onnxruntime-node").exists():
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=peers,
                       check=True, env={**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"})
    out = {}
    for label, lengths in shapes:  # ORT gets the batch padded to the longest, as torch does
        res = subprocess.run(["node", str(peers / "ort_runner.js"), onnx_path, str(threads),
                              str(reps), str(len(lengths)), str(max(lengths))],
                             check=True, capture_output=True, text=True)
        out[label] = {"ort": json.loads(res.stdout.splitlines()[-1])["ms"]}
    return out


def ours_times(binary, model_dir, shapes, reps, threads, baseline=None):
    """baseline: another encoder_timing (an older build), run before ours on each shape and
    dtype, as the peers "attnserve-before" and "attnserve-bf16-before"."""
    out = {}
    for label, lengths in shapes:
        row = {}
        for dtype in ("fp32", "bf16"):
            name = "attnserve" if dtype == "fp32" else "attnserve-bf16"
            for suffix, exe in ([("-before", baseline)] if baseline else []) + [("", binary)]:
                res = subprocess.run([exe, "--model_dir", model_dir, "--threads", str(threads),
                                      "--reps", str(reps), "--dtype", dtype,
                                      "--lengths", ",".join(map(str, lengths))],
                                     check=True, capture_output=True, text=True)
                row[name + suffix] = json.loads(res.stdout.splitlines()[-1])["ms"]
            if label == "mixed32" and dtype == "fp32":  # the same batch padded to the longest
                res = subprocess.run([binary, "--model_dir", model_dir, "--threads",
                                      str(threads), "--reps", str(reps), "--dtype", dtype,
                                      "--lengths", ",".join([str(max(lengths))] * len(lengths))],
                                     check=True, capture_output=True, text=True)
                row["attnserve-padded"] = json.loads(res.stdout.splitlines()[-1])["ms"]
        out[label] = row
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated shape labels")
    ap.add_argument("--models", default="", help="comma-separated model names")
    ap.add_argument("--long", action="store_true", help="ModernBERT-base at 2048 and 8192")
    ap.add_argument("--peers", default="torch,ort",
                    help="comma-separated peers run next to attnserve (torch, ort)")
    ap.add_argument("--binary", default=str(HERE.parent / "build/bin/encoder_timing"))
    ap.add_argument("--baseline_binary", default="",
                    help="an older build's encoder_timing, timed in turn with --binary "
                         "(before/after table at the end)")
    args = ap.parse_args()
    wanted_peers = set(filter(None, args.peers.split(",")))
    wanted = set(args.only.split(",")) if args.only else None
    wanted_models = set(args.models.split(",")) if args.models else None
    all_shapes = SHAPES + (LONG_SHAPES if args.long else [])

    results = {}  # (model, label) -> peer -> [ms per round]
    with tempfile.TemporaryDirectory() as tmp:
        for model, (arch, hidden, layers, heads, inter) in MODELS.items():
            shapes = [(label, lengths) for m, label, lengths in all_shapes
                      if m == model and (wanted is None or label in wanted)]
            if not shapes or (wanted_models is not None and model not in wanted_models):
                continue
            model_dir = os.path.join(tmp, model)
            ARCHS[arch][0](model_dir, hidden, layers, heads, inter)
            onnx_path = os.path.join(tmp, model + ".onnx")
            if "ort" in wanted_peers:
                export_onnx(arch, model_dir, onnx_path)
            for _ in range(args.rounds):
                runs = [lambda: ours_times(args.binary, model_dir, shapes, args.reps,
                                           args.threads, args.baseline_binary or None)]
                if "torch" in wanted_peers:
                    runs.append(lambda: torch_times(arch, model_dir, shapes, args.reps,
                                                    args.threads))
                if "ort" in wanted_peers:
                    runs.append(lambda: ort_times(onnx_path, shapes, args.reps, args.threads))
                for peer_times in (run() for run in runs):
                    for label, row in peer_times.items():
                        for peer, ms in row.items():
                            results.setdefault((model, label), {}).setdefault(peer, []).append(ms)
                            print(f"# {model} {label} {peer}: {ms:.2f} ms", file=sys.stderr,
                                  flush=True)

    lengths_of = {(m, label): lengths for m, label, lengths in all_shapes}
    print(f"# threads={args.threads} reps={args.reps} rounds={args.rounds} "
          f"torch={torch.__version__}")
    print("| model | shape | peer | ms (median) | tokens/s | GFLOP/s | attnserve fp32 speed-up |")
    print("|---|---|---|---|---|---|---|")
    for (model, label), peers in results.items():
        lengths = lengths_of[(model, label)]
        ours = statistics.median(peers["attnserve"])
        for peer, times in peers.items():
            ms = statistics.median(times)
            gflops = flops(model, lengths) / (ms * 1e-3) / 1e9
            print(f"| {model} | {label} | {peer} | {ms:.2f} | {sum(lengths) / ms * 1e3:.0f} | "
                  f"{gflops:.1f} | {ms / ours:.2f}x |")
    if args.baseline_binary:
        # Per round, this build's time over the baseline's (run just before it); the median.
        print("\n| model | shape | dtype | before ms | after ms | after/before (median of rounds) |")
        print("|---|---|---|---|---|---|")
        for (model, label), peers_ms in results.items():
            for name, dtype in (("attnserve", "fp32"), ("attnserve-bf16", "bf16")):
                before, after = peers_ms[name + "-before"], peers_ms[name]
                ratio = statistics.median(a / b for a, b in zip(after, before))
                print(f"| {model} | {label} | {dtype} | {statistics.median(before):.2f} | "
                      f"{statistics.median(after):.2f} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
