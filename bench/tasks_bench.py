#!/usr/bin/python3
"""Speed of the tasks beyond embeddings (issue 17), each against a peer in the same run.

  chrt -r 10 /usr/bin/python3 bench/tasks_bench.py [--build_dir build] [--parts rerank,splade,chunk]
      [--threads 2] [--rounds 3] [--reps 10]

Every model has random weights in the Hugging Face layout (bench/peers/torch_bert.py) and
bench/serve_bench.py's vocab.txt (special tokens, letters, attnbench's words: one word is one
token). The server computes on --threads threads; so does every peer. Parts:

  rerank  1 query (8 words) x 100 passages of 100 words (111 tokens a pair) through gRPC
          Rerank (raw scores) on a MiniLM-L6-sized BertForSequenceClassification (1 label),
          the server at --max_batch_size 128 so the 100 pairs form one batch, vs ONNX Runtime
          (onnxruntime-node, bench/peers/ort_runner.js) on the same model exported by
          torch.onnx (peers/torch_bert.py TorchCrossEncoder), fed the same 100 pairs in one
          batch: the token ids and token types the server's tokenizer builds ([CLS] q [SEP] p
          [SEP]). Both peers' scores are compared first. Rounds alternate the peers;
          latency p50 and p99 over every timed call. GFLOP/s against bench/matmul_peak_bench
          (2048^3 FP32 matmul on --threads threads), measured in the same run.
  splade  32 x 128 token ids on a BERT-base BertForMaskedLM (vocab 30522): Encode with pooling
          SPLADE vs the same Encode with MEAN pooling (no head), alternating; the head's share
          of the call is 1 - dense/sparse. Memory: the server's VmRSS idle and its maximum
          (sampled every 0.25 s) during one dense and one SPLADE call; a [4096, 30522] FP32
          logits matrix would be 477 MiB.
  chunk   one document of 20,000 tokens (words) encoded with chunking on the MiniLM-sized
          encoder (windows of 512 tokens, overlap 2), vs the same chunks sent as separate
          texts in one call, alternating: tokens per second of each.
Prints the figures as Markdown and JSON; the load average before and after.
"""
import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = pathlib.Path(__file__).resolve().parent.parent
PEERS = SOURCE_DIR / "bench" / "peers"
sys.path.insert(0, str(SOURCE_DIR / "bench"))
sys.path.insert(0, str(PEERS))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402  (the stubs, as building the client package makes them)
_STUBS = tempfile.TemporaryDirectory()
sys.path.insert(0, str(gen_stubs.generate(_STUBS.name)))
import attnserve_client  # noqa: E402
from attnserve_client import pb  # noqa: E402
from attnserve_process import AttnServe  # noqa: E402
from serve_bench import RssSampler, attnbench_words, write_model  # noqa: E402
import torch_bert  # noqa: E402

MINILM = dict(hidden=384, layers=6, heads=12, intermediate=1536)
BERT_BASE = dict(hidden=768, layers=12, heads=12, intermediate=3072)


def loadavg():
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def encoder_flops(shape, lengths):
    """Matmul FLOPs of a post-LN BERT encoder: QKV + O 8 T H^2, FFN 4 T H I, attention
    4 T S H per layer."""
    h, i, layers = shape["hidden"], shape["intermediate"], shape["layers"]
    return sum(layers * (8 * s * h * h + 4 * s * h * i + 4 * s * s * h) for s in lengths)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed_calls(call, reps, warmup=2):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def matmul_peak(args):
    out = subprocess.run(
        [str(args.build_dir / "bin" / "matmul_peak_bench"), "--benchmark_format=json"],
        env={**os.environ, "OMP_NUM_THREADS": str(args.threads)}, capture_output=True,
        text=True, check=True).stdout
    return {b["label"]: b["GFLOP/s"] for b in json.loads(out)["benchmarks"]}


def vocab_ids(model_dir):
    return {w: i for i, w in enumerate((model_dir / "vocab.txt").read_text().splitlines())}


def ensure_ort():
    if not (PEERS / "node_modules" / "onnxruntime-node").exists():
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=PEERS,
                       check=True, env={**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"})


def bench_rerank(args, tmp, report):
    import torch
    model_dir = tmp / "cross"
    write_model(model_dir, torch_bert.random_cross_encoder_dir, **MINILM)
    ids = vocab_ids(model_dir)
    words = attnbench_words()
    rng = random.Random(17)
    query = " ".join(rng.choice(words) for _ in range(8))
    passages = [" ".join(rng.choice(words) for _ in range(100)) for _ in range(100)]
    # [CLS] q [SEP] p [SEP]; token types 0 through the first [SEP], then 1.
    q = [ids[w] for w in query.split()]
    feeds = {"input_ids": [], "attention_mask": [], "token_type_ids": []}
    for p in passages:
        row = [ids["[CLS]"], *q, ids["[SEP]"], *(ids[w] for w in p.split()), ids["[SEP]"]]
        feeds["input_ids"].append(row)
        feeds["attention_mask"].append([1] * len(row))
        feeds["token_type_ids"].append([0] * (len(q) + 2) + [1] * (len(row) - len(q) - 2))
    lengths = [len(row) for row in feeds["input_ids"]]
    feeds_path = tmp / "rerank_feeds.json"
    feeds_path.write_text(json.dumps(feeds))

    model = torch_bert.TorchCrossEncoder(model_dir).eval()
    onnx_path = tmp / "cross.onnx"
    example = torch.tensor(feeds["input_ids"][:2])
    torch.onnx.export(model, (example, torch.ones_like(example), torch.zeros_like(example)),
                      str(onnx_path), input_names=list(feeds), output_names=["logits"],
                      dynamic_axes={n: {0: "b", 1: "s"} for n in feeds}, opset_version=14)
    ensure_ort()

    server = AttnServe(args.build_dir, ["--model", f"cross={model_dir}", "--compute_threads",
                                        str(args.threads), "--max_batch_size", "128",
                                        "--max_queue_size", "256"])
    client = attnserve_client.Client(server.address, timeout=600)
    request = pb.RerankRequest(model="cross", query=query, texts=passages, raw_scores=True)
    try:
        first = client.encoder.Rerank(request)
        if first.total_tokens != sum(lengths):
            raise RuntimeError(f"the server encoded {first.total_tokens} tokens, the feeds hold "
                               f"{sum(lengths)}: not the same token ids")
        ours_scores = {r.index: r.score for r in first.ranks}
        times = {"attnserve": [], "ort": []}
        ort_scores = None
        for _ in range(args.rounds):
            times["attnserve"] += timed_calls(lambda: client.encoder.Rerank(request), args.reps)
            out = subprocess.run(["node", str(PEERS / "ort_runner.js"), str(onnx_path),
                                  str(args.threads), "feeds", str(feeds_path), str(args.reps)],
                                 check=True, capture_output=True, text=True).stdout
            result = json.loads(out.splitlines()[-1])
            times["ort"] += result["ms"]
            ort_scores = result["output"]
            print(f"# rerank round: attnserve p50 {statistics.median(times['attnserve']):.1f} "
                  f"ms, ort p50 {statistics.median(times['ort']):.1f} ms", file=sys.stderr)
    finally:
        client.close()
        server.stop()
    diff = max(abs(ours_scores[i] - ort_scores[i]) for i in range(len(passages)))
    peak = matmul_peak(args)
    flops = encoder_flops(MINILM, lengths)
    rows = {}
    for peer, ms in times.items():
        p50, p99 = statistics.median(ms), percentile(ms, 99)
        rows[peer] = {"p50_ms": p50, "p99_ms": p99, "calls": len(ms),
                      "gflop_s": flops / (p50 * 1e-3) * 1e-9, "ms_in_order": ms}
    report["rerank"] = {"tokens": sum(lengths), "gflop": flops * 1e-9, "rows": rows,
                        "max_score_difference": diff, "matmul_peak_gflop_s": peak,
                        "speedup_p50": rows["ort"]["p50_ms"] / rows["attnserve"]["p50_ms"],
                        "speedup_p99": rows["ort"]["p99_ms"] / rows["attnserve"]["p99_ms"]}
    print(f"\n### Rerank 1 x 100 pairs ({sum(lengths)} tokens, {flops * 1e-9:.0f} GFLOP), "
          f"{args.threads} threads; largest score difference {diff:.2e}")
    print("| peer | p50 ms | p99 ms | calls | GFLOP/s at p50 | % of FP32 matmul peak |")
    print("|---|---|---|---|---|---|")
    for peer, r in rows.items():
        print(f"| {peer} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['calls']} | "
              f"{r['gflop_s']:.0f} | {100 * r['gflop_s'] / peak['fp32']:.0f}% |")
    print(f"attnserve vs ORT: {report['rerank']['speedup_p50']:.2f}x at p50, "
          f"{report['rerank']['speedup_p99']:.2f}x at p99; matmul peak {peak}")


def bench_splade(args, tmp, report):
    model_dir = tmp / "mlm"
    write_model(model_dir, torch_bert.random_masked_lm_dir, **BERT_BASE)
    rng = random.Random(3)
    ids = [pb.TokenIds(ids=[2] + [rng.randrange(1000, 30000) for _ in range(126)] + [3])
           for _ in range(32)]
    server = AttnServe(args.build_dir, ["--model", f"mlm={model_dir}", "--compute_threads",
                                        str(args.threads), "--max_batch_size", "32"])
    client = attnserve_client.Client(server.address, timeout=600)
    sparse = pb.EncodeRequest(model="mlm", token_ids=ids, pooling=pb.SPLADE)
    dense = pb.EncodeRequest(model="mlm", token_ids=ids, pooling=pb.MEAN)
    try:
        times = {"dense": [], "sparse": []}
        client.encoder.Encode(dense)
        response = client.encoder.Encode(sparse)
        nonzero = statistics.mean(len(e.sparse.indices) for e in response.embeddings)
        rss_mib = {"idle": server.proc_status_kb("VmRSS") / 1024}
        for name, request in (("dense", dense), ("sparse", sparse)):  # VmRSS every 0.25 s
            sampler = RssSampler(server.process.pid)
            client.encoder.Encode(request)
            rss_mib[f"max during {name}"] = max(sampler.finish()) / 1024
        for _ in range(args.rounds):
            times["dense"] += timed_calls(lambda: client.encoder.Encode(dense), 1, warmup=0)
            times["sparse"] += timed_calls(lambda: client.encoder.Encode(sparse), 1, warmup=0)
            print(f"# splade round: dense {times['dense'][-1]:.0f} ms, sparse "
                  f"{times['sparse'][-1]:.0f} ms", file=sys.stderr)
    finally:
        client.close()
        server.stop()
    d, s = statistics.median(times["dense"]), statistics.median(times["sparse"])
    head_flops = 4096 * 2 * (768 * 768 + 768 * 30522)
    report["splade"] = {"dense_ms": d, "sparse_ms": s, "head_share": 1 - d / s,
                        "head_gflop_s": head_flops / ((s - d) * 1e-3) * 1e-9,
                        "encoder_gflop_s": encoder_flops(BERT_BASE, [128] * 32) / (d * 1e-3) * 1e-9,
                        "rss_mib": rss_mib,
                        "mean_nonzero": nonzero}
    r = report["splade"]
    print(f"\n### SPLADE 32 x 128 tokens, BERT-base masked LM, {args.threads} threads")
    print("| call | median ms | GFLOP/s |")
    print("|---|---|---|")
    print(f"| Encode MEAN (no head) | {d:.0f} | {r['encoder_gflop_s']:.0f} (encoder) |")
    print(f"| Encode SPLADE | {s:.0f} | {r['head_gflop_s']:.0f} (head, from the difference) |")
    print(f"head share {100 * r['head_share']:.1f}% (target <= 35%); server RSS MiB "
          f"{ {k: round(v) for k, v in rss_mib.items()} } (a [4096, 30522] FP32 matrix is "
          f"477 MiB); mean non-zeros per sequence {nonzero:.0f}")


def bench_chunk(args, tmp, report):
    model_dir = tmp / "minilm"
    write_model(model_dir)
    words = attnbench_words()
    rng = random.Random(20000)
    document = " ".join(rng.choice(words) for _ in range(19998))
    server = AttnServe(args.build_dir, ["--model", f"minilm={model_dir}", "--compute_threads",
                                        str(args.threads)])
    client = attnserve_client.Client(server.address, timeout=600)
    chunked = pb.EncodeRequest(model="minilm", texts=[document],
                               chunking=pb.Chunking(max_tokens=512, overlap=2))
    try:
        response = client.encoder.Encode(chunked)
        chunks = response.embeddings[0].chunks
        separate = pb.EncodeRequest(model="minilm",
                                    texts=[document[c.start:c.end] for c in chunks])
        check = client.encoder.Encode(separate)
        if check.total_tokens != response.total_tokens:
            raise RuntimeError(f"separate texts encode {check.total_tokens} tokens, the "
                               f"chunked document {response.total_tokens}")
        times = {"chunked": [], "separate": []}
        for _ in range(args.rounds):
            times["chunked"] += timed_calls(lambda: client.encoder.Encode(chunked), 1, 0)
            times["separate"] += timed_calls(lambda: client.encoder.Encode(separate), 1, 0)
            print(f"# chunk round: chunked {times['chunked'][-1]:.0f} ms, separate "
                  f"{times['separate'][-1]:.0f} ms", file=sys.stderr)
    finally:
        client.close()
        server.stop()
    tokens = response.total_tokens
    rows = {k: {"median_ms": statistics.median(v),
                "tokens_per_s": tokens / (statistics.median(v) * 1e-3)} for k, v in times.items()}
    report["chunk"] = {"tokens": tokens, "chunks": len(chunks), "rows": rows,
                       "ratio": rows["chunked"]["tokens_per_s"] / rows["separate"]["tokens_per_s"]}
    print(f"\n### Chunked encode of a 20,000-token document ({len(chunks)} chunks, {tokens} "
          f"tokens with specials), {args.threads} threads")
    print("| call | median ms | tokens/s |")
    print("|---|---|---|")
    for k, r in rows.items():
        print(f"| {k} | {r['median_ms']:.0f} | {r['tokens_per_s']:.0f} |")
    print(f"chunked / separate throughput: {report['chunk']['ratio']:.3f} (target >= 0.9)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build_dir", type=pathlib.Path, default=SOURCE_DIR / "build")
    parser.add_argument("--parts", default="rerank,splade,chunk")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=10, help="timed rerank calls per round")
    args = parser.parse_args()
    report = {"loadavg_before": loadavg()}
    parts = {"rerank": bench_rerank, "splade": bench_splade, "chunk": bench_chunk}
    with tempfile.TemporaryDirectory() as tmp:
        for part in args.parts.split(","):
            parts[part](args, pathlib.Path(tmp), report)
    report["loadavg_after"] = loadavg()
    print(f"\nload average before {report['loadavg_before']}, after {report['loadavg_after']}")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
