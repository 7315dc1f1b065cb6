#!/usr/bin/python3
"""Side-by-side attention benchmark: attnserve's core::Attend vs torch 1.13.

Run with Debian's interpreter, after `./dev build`:
  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/compare_attention.py [--rounds 3] [--reps 10]
Shapes (bench/attention_bench.cc has the same):
  global soft  B=8 H=12 D=64, S in 128, 512, 2048: torch softmax(Q K^T scale) V, FP32;
               attnserve FP32 and BF16 (BF16 inputs, f32 accumulation)
  local soft   B=1 H=12 D=64, window 128 keys each side, S in 4096, 16384: torch computes it
               the dense way, softmax(Q K^T scale + band mask) V with an additive -inf band
               mask, one head at a time (all heads at once would need 3 x 12 GiB at 16384);
               attnserve runs its banded kernel.
Both sides use 2 threads. Each round runs, shape by shape, torch (median of --reps calls after a
warm-up) and then the attention_bench binary (median of --reps repetitions); the table shows the median over
rounds, the ratio torch / attnserve (> 1: attnserve is faster) and attnserve's GFLOP/s; once
for wall time and once for process CPU time (steadier when other work shares the machine).
"""
import argparse
import json
import math
import os
import pathlib
import statistics
import subprocess
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
THREADS = 2
GLOBAL_SEQS = [128, 512, 2048]
LOCAL_SEQS = [4096, 16384]
WINDOW = 128


def median_ms(fn, reps, budget_s):
    """Median wall ms and median process CPU ms (all threads) of fn(). The first
    call is a warm-up unless it takes over 2 s (then warming up is noise)."""
    walls, cpus = [], []
    warmed_up = False
    while True:
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - w0) * 1e3)
        cpus.append((time.process_time() - c0) * 1e3)
        if not warmed_up:
            warmed_up = True
            if walls[0] < 2000:
                walls, cpus = [], []
                continue
        wanted = max(2, min(reps, int(budget_s * 1e3 / max(walls[0], 1e-3))))
        if len(walls) >= wanted:
            return {"ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}


def torch_global(seq, reps):
    b, h, d = 8, 12, 64
    q, k, v = (torch.randn(b, h, seq, d) for _ in range(3))
    scale = 1.0 / math.sqrt(d)

    def run():
        p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale, dim=-1)
        return torch.matmul(p, v)

    return median_ms(run, reps, budget_s=20)


def torch_local(seq, reps):
    h, d = 12, 64
    q, k, v = (torch.randn(h, seq, d) for _ in range(3))
    scale = 1.0 / math.sqrt(d)
    i = torch.arange(seq).view(seq, 1)
    j = torch.arange(seq).view(1, seq)
    band = torch.zeros(seq, seq)
    band.masked_fill_((j < i - WINDOW) | (j > i + WINDOW), -math.inf)

    def run():
        out = torch.empty(h, seq, d)
        for head in range(h):
            s = torch.matmul(q[head], k[head].t()).mul_(scale).add_(band)
            out[head] = torch.matmul(torch.softmax(s, dim=-1), v[head])
        return out

    return median_ms(run, reps, budget_s=40)


def ours(bench, reps, kind, seq, bf16):
    """Median ms and GFLOP/s of one attention_bench shape, and the oneDNN ISA."""
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS))
    name = "GlobalSoft" if kind == "global" else "LocalSoft"
    result = subprocess.run(
        [bench, f"--benchmark_filter=BM_{name}/S:{seq}/bf16:{bf16}/",
         f"--benchmark_repetitions={reps}", "--benchmark_report_aggregates_only=true",
         "--benchmark_format=json"],
        env=env, check=True, capture_output=True, text=True)
    for row in json.loads(result.stdout)["benchmarks"]:
        if row.get("aggregate_name") == "median":
            unit = {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[row["time_unit"]]
            return {"ms": row["real_time"] * unit, "cpu_ms": row["cpu_time"] * unit,
                    "gflops": row["GFLOP/s"],
                    "isa": row.get("label", "")}
    raise RuntimeError(f"no median for {name} S={seq} bf16={bf16}: {result.stdout}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--bench", default=str(ROOT / "build" / "bin" / "attention_bench"))
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    print(f"torch {torch.__version__}, {THREADS} threads, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")

    # Per round and shape, torch then attnserve back to back, so both see
    # about the same machine load.
    torch_rounds, our_rounds = [], []
    for r in range(args.rounds):
        t, o = {}, {}
        with torch.no_grad():
            for s in GLOBAL_SEQS:
                t[("global", s)] = torch_global(s, args.reps)
                for bf16 in (0, 1):
                    o[("global", s, bf16)] = ours(args.bench, args.reps, "global", s, bf16)
            for s in LOCAL_SEQS:
                t[("local", s)] = torch_local(s, args.reps)
                o[("local", s, 0)] = ours(args.bench, args.reps, "local", s, 0)
        torch_rounds.append(t)
        our_rounds.append(o)
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{k[0]} S{k[1]}: torch {t[k]['ms']:.1f} ms / ours {o[k + (0,)]['ms']:.1f} ms"
            for k in t), flush=True)

    def med(rounds, key, field):
        return statistics.median(x[key][field] for x in rounds)

    rows = []
    for s in GLOBAL_SEQS:
        for bf16 in (0, 1):
            rows.append((f"global B8 H12 S{s} D64 {'BF16' if bf16 else 'FP32'}", ("global", s),
                         ("global", s, bf16)))
    for s in LOCAL_SEQS:
        rows.append((f"local B1 H12 S{s} D64 w+-{WINDOW} FP32", ("local", s), ("local", s, 0)))
    print(f"\nattnserve oneDNN ISA: {our_rounds[0][('global', 512, 0)]['isa']}")
    for field, title in (("ms", "wall time"), ("cpu_ms", "process CPU time (all threads)")):
        print(f"\n{title}, median over {args.rounds} rounds")
        print(f"{'shape':36s} {'torch ms':>10s} {'ours ms':>10s} {'torch/ours':>10s}"
              + (f" {'GFLOP/s':>9s}" if field == "ms" else ""))
        ours_ms = {}
        for label, tkey, okey in rows:
            tm, om = med(torch_rounds, tkey, field), med(our_rounds, okey, field)
            ours_ms[okey] = om
            print(f"{label:36s} {tm:10.2f} {om:10.2f} {tm / om:10.2f}"
                  + (f" {med(our_rounds, okey, 'gflops'):9.1f}" if field == "ms" else ""))
        for s in GLOBAL_SEQS:
            print(f"ours FP32 / ours BF16 at S={s}: "
                  f"{ours_ms[('global', s, 0)] / ours_ms[('global', s, 1)]:.2f}x")
        print(f"ours local time(16384) / time(4096): "
              f"{ours_ms[('local', 16384, 0)] / ours_ms[('local', 4096, 0)]:.2f}")


if __name__ == "__main__":
    main()
