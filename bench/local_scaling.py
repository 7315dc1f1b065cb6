#!/usr/bin/env python3
"""How the core encoder's cost grows with length under LOCAL attention (issue 8: from 512 to
8192 tokens, time(L) / time(512) should stay <= 1.15 x L / 512).

Run with Debian's interpreter, after `./dev build`:
  /usr/bin/python3 bench/local_scaling.py [--window 128,128] [--rounds 3] [--reps 2]
Writes (once, then reuses) a random BERT-base-size model with max_position_embeddings 8192, and
times one sequence of each length with every layer's attention LOCAL soft, the query at p seeing
keys p - LEFT .. p + RIGHT. The default window 128,128 is Longformer's "window 256" (256 keys
around each query, half on each side); --window 256,256 is the wider reading. Each round runs every
length once (interleaved, so machine noise hits all lengths alike); the table gives medians over
rounds of encoder_timing's ms (median wall time of a pass) and cpu_ms (process CPU time of a pass;
with OMP_WAIT_POLICY=PASSIVE in the environment it counts work, not spinning, which is steadier on
a busy machine), and the time ratios of --metric (ms, min_ms or cpu_ms).
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "peers"))
import torch_bert  # noqa: E402

LENGTHS = [512, 1024, 2048, 4096, 8192]
HIDDEN, LAYERS, HEADS, INTER = 768, 12, 12, 3072


def flops(length, left, right):
    """Projections + FFN, and the attention over each query's window (edges clipped)."""
    visible = sum(min(length, p + right + 1) - max(0, p - left) for p in range(length))
    return LAYERS * (8 * length * HIDDEN**2 + 4 * length * HIDDEN * INTER + 4 * visible * HIDDEN)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", default="128,128", help="LEFT,RIGHT")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    ap.add_argument("--metric", default="ms", choices=["ms", "min_ms", "cpu_ms"])
    ap.add_argument("--model_dir", default="/tmp/attnserve_bert_base_8192")
    ap.add_argument("--binary", default=str(HERE.parent / "build/bin/encoder_timing"))
    args = ap.parse_args()
    left, right = (int(x) for x in args.window.split(","))
    lengths = [int(x) for x in args.lengths.split(",")]

    model_dir = pathlib.Path(args.model_dir)
    if not (model_dir / "config.json").exists():
        print(f"# writing a random BERT-base (max_position_embeddings {max(LENGTHS)}) to "
              f"{model_dir}", file=sys.stderr, flush=True)
        torch_bert.random_bert_dir(model_dir, HIDDEN, LAYERS, HEADS, INTER,
                                   max_pos=max(LENGTHS))

    runs = {length: [] for length in lengths}  # length -> encoder_timing's JSON per round
    for _ in range(args.rounds):
        for length in lengths:
            res = subprocess.run([args.binary, "--model_dir", str(model_dir),
                                  "--threads", str(args.threads), "--reps", str(args.reps),
                                  "--dtype", args.dtype, "--lengths", str(length),
                                  "--local_window", f"{left},{right}"],
                                 check=True, capture_output=True, text=True)
            runs[length].append(json.loads(res.stdout.splitlines()[-1]))
            print(f"# {length}: {runs[length][-1]}", file=sys.stderr, flush=True)

    def median(length, metric):
        return statistics.median(run[metric] for run in runs[length])

    base = lengths[0]
    print(f"# LOCAL window {left},{right}, dtype {args.dtype}, threads {args.threads}, "
          f"rounds {args.rounds}, reps {args.reps}; ratios of {args.metric}")
    print("| tokens | ms | cpu_ms | ms/token | GFLOP/s | time ratio | length ratio | "
          "time ratio / length ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for length in lengths:
        ms = median(length, "ms")
        time_ratio = median(length, args.metric) / median(base, args.metric)
        length_ratio = length / base
        gflops = flops(length, left, right) / (ms * 1e-3) / 1e9
        print(f"| {length} | {ms:.1f} | {median(length, 'cpu_ms'):.1f} | {ms / length:.4f} | "
              f"{gflops:.1f} | {time_ratio:.2f} | {length_ratio:.0f} | "
              f"{time_ratio / length_ratio:.2f} |")


if __name__ == "__main__":
    main()
