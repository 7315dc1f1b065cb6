#!/usr/bin/python3
"""Serving benchmark (issue 5): attnserve with a MiniLM-L6-sized model driven by attnbench.

  /usr/bin/python3 bench/serve_bench.py [--build_dir build] [--duration 15] [--clients 64]

Model: random weights (BERT init, N(0, 0.02)) in a Hugging Face directory written by
bench/peers/torch_bert.py's random_bert_dir: hidden 384, 6 layers, 12 heads, FFN 1536, as
all-MiniLM-L6-v2. Its vocab.txt holds the special tokens, single characters and the words
attnbench builds texts from (read from client/attnbench.cc), so a text of n words is n + 2
tokens. Timing does not depend on the weights' values.

Workload: one text per call, 8..64 tokens (uniform, a fixed list of lengths shared by every
run). In one run it measures
  1. closed loop, --clients concurrent calls, the default batching server;
  2. the same at --max_batch_size 1;
  3. the core encoder offline (build/bin/encoder_timing, median of --reps passes) on batches
     of the same lengths, as many texts per batch as the server's mean batch size in (1),
     measured right after (1) while the server idles;
  4. open loop (Poisson) at 50% and at 200% of the capacity measured in (1), on the default
     server (--max_queue_size 64): shed ratio, latency percentiles of accepted calls, and the
     server's RSS (VmRSS sampled every 0.25 s, VmHWM at the end); then 50% and 200% again on
     a server with a queue time budget (--max_queue_time_ms, --budget_batch_size);
  5. the batching gain the core itself allows: the core encoder offline on the same texts
     one at a time vs in batches of 8, 16, 32 and 64; the best of these is what the server at
     --clients single-text clients is compared with (issue 13: >= 90%);
  5b. the tuning table (README "Tuning"): --clients closed-loop clients against servers with
     --max_batch_size 1, 8, 32 x --max_queue_delay_us 0, 2000: throughput and p99;
  6. latency of one 16-token text (issue 8): the core encoder (encoder_timing), ONNX Runtime
     in process (bench/peers/ort_runner.js on the same weights exported by torch.onnx) and
     attnserve through gRPC (attnbench, 1 client, p50), in the same run.
Prints a Markdown table (for bench/RESULTS.md) and the raw figures as JSON.

GOMP_SPINCOUNT defaults to 3000 for the server and encoder_timing alike (the server's own
default when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set): idle OpenMP threads spin
briefly, then sleep. --omp_wait_policy passive (no spin) or active (spin forever) instead.
"""
import argparse
import json
import os
import pathlib
import platform
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

SOURCE_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SOURCE_DIR / "bench"))
sys.path.insert(0, str(SOURCE_DIR / "bench" / "peers"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
from attnserve_process import AttnServe  # noqa: E402
from torch_bert import random_bert_dir  # noqa: E402

MINILM = dict(hidden=384, layers=6, heads=12, intermediate=1536)


def attnbench_words():
    source = (SOURCE_DIR / "client" / "attnbench.cc").read_text()
    block = re.search(r"kWords\[\] = \{(.*?)\};", source, re.S).group(1)
    return re.findall(r'"([^"]+)"', block)


def write_model(path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += list(".,!?;:'\"()-") + [str(d) for d in range(10)]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += letters + ["##" + c for c in letters]
    vocab += [w for w in attnbench_words() if w not in vocab]
    # MiniLM's vocabulary size, so that ONNX Runtime's runner (ids up to 21000) fits too.
    vocab += [f"[unused{i}]" for i in range(30522 - len(vocab))]
    random_bert_dir(path, vocab=len(vocab), **MINILM)
    (pathlib.Path(path) / "vocab.txt").write_text("\n".join(vocab) + "\n")


def cpu_model():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    match = re.search(r"Model name:\s*(.+)", out)
    return match.group(1).strip() if match else platform.processor()


def loadavg():
    return pathlib.Path("/proc/loadavg").read_text().split()[:3]


def proc_status_kib(pid, field):
    match = re.search(rf"^{field}:\s+(\d+) kB", pathlib.Path(f"/proc/{pid}/status").read_text(),
                      re.M)
    return int(match.group(1))


class RssSampler:
    """Samples VmRSS of `pid` every 0.25 s while active."""

    def __init__(self, pid):
        self.pid, self.samples, self.stop = pid, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(0.25):
            self.samples.append(proc_status_kib(self.pid, "VmRSS"))

    def finish(self):
        self.stop.set()
        self.thread.join()
        return self.samples


def attnbench(args, server, *flags, lengths_file=True):
    """attnbench --json against `server`; texts of args.lengths_file's lengths unless
    lengths_file is False (then `flags` give the token counts)."""
    lengths = ["--lengths_file", str(args.lengths_file)] if lengths_file else []
    argv = [str(args.build_dir / "bin" / "attnbench"), "--address", server.address,
            "--metrics_address", server.metrics_address, "--method", "encode",
            "--texts_per_request", "1", *lengths,
            "--duration", str(args.duration), "--warmup", str(args.warmup), "--json", *flags]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration * 4 + 120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr}")
    report = json.loads(done.stdout)
    print(f"  attnbench {' '.join(flags)}: {report['requests_per_s']:.1f} req/s, "
          f"p50 {report['p50_ms']:.1f} ms, p99 {report['p99_ms']:.1f} ms, "
          f"errors {report['errors']}", file=sys.stderr)
    return report


def start_server(args, model_dir, *flags):
    return AttnServe(args.build_dir, ["--model", f"minilm={model_dir}", "--compute_threads",
                                      str(args.threads), *flags], metrics=True)


def offline_tokens_per_s(args, model_dir, lengths, batch):
    """The core encoder on consecutive batches of `batch` texts of `lengths`."""
    total_ms, total_tokens = 0.0, 0
    for begin in range(0, len(lengths) - batch + 1, batch):
        chunk = lengths[begin:begin + batch]
        out = subprocess.run(
            [str(args.build_dir / "bin" / "encoder_timing"), "--model_dir", str(model_dir),
             "--threads", str(args.threads), "--reps", str(args.reps), "--dtype", "fp32",
             "--lengths", ",".join(map(str, chunk))],
            capture_output=True, text=True, check=True).stdout
        report = json.loads(out)
        total_ms += report["ms"]
        total_tokens += report["tokens"]
    return total_tokens / (total_ms / 1e3)


def half_and_double_load(args, server, capacity):
    """Open loop at 50% and at 200% of `capacity` calls/s: the two attnbench reports, the
    server's VmRSS samples during the 200% run and its VmHWM after it."""
    half = attnbench(args, server, "--rate", f"{capacity * 0.5:.2f}")
    sampler = RssSampler(server.process.pid)
    double = attnbench(args, server, "--rate", f"{capacity * 2:.2f}")
    return half, double, sampler.finish(), proc_status_kib(server.process.pid, "VmHWM")


def latency_1x16(args, model_dir, tmp):
    """Median ms of one 16-token sequence: core encoder, ONNX Runtime, gRPC Encode."""
    import compare_encoder  # torch and the ONNX export; imported only here
    core = json.loads(subprocess.run(
        [str(args.build_dir / "bin" / "encoder_timing"), "--model_dir", str(model_dir),
         "--threads", str(args.threads), "--reps", "300", "--dtype", "fp32", "--lengths", "16"],
        capture_output=True, text=True, check=True).stdout)["ms"]
    onnx_path = str(pathlib.Path(tmp) / "minilm.onnx")
    compare_encoder.export_onnx("bert", str(model_dir), onnx_path)
    ort = compare_encoder.ort_times(onnx_path, [("1x16", [16])], 300, args.threads)["1x16"]["ort"]
    server = start_server(args, model_dir)
    try:
        grpc_report = attnbench(args, server, "--concurrency", "1", "--min_tokens", "16",
                                "--max_tokens", "16", lengths_file=False)
    finally:
        server.stop()
    return {"core_ms": core, "ort_ms": ort, "grpc_p50_ms": grpc_report["p50_ms"],
            "grpc_p99_ms": grpc_report["p99_ms"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build_dir", type=pathlib.Path, default=SOURCE_DIR / "build")
    parser.add_argument("--duration", type=float, default=15, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="--compute_threads")
    parser.add_argument("--reps", type=int, default=10, help="encoder_timing repetitions")
    parser.add_argument("--queue_time_ms", type=int, default=25,
                        help="--max_queue_time_ms of the budget server")
    parser.add_argument("--budget_batch_size", type=int, default=8,
                        help="--max_batch_size of the budget server")
    parser.add_argument("--skip_tuning", action="store_true",
                        help="skip the batch size x queue delay table")
    parser.add_argument("--omp_wait_policy", default="",
                        help="OMP_WAIT_POLICY of the server and encoder_timing alike; empty: "
                             "GOMP_SPINCOUNT=3000 instead")
    args = parser.parse_args()
    if args.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy
    else:
        os.environ["GOMP_SPINCOUNT"] = "3000"

    figures = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu_model(),
               "loadavg_start": loadavg(), "args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = pathlib.Path(tmp) / "minilm_l6_random"
        write_model(model_dir)
        rng = random.Random(5)
        lengths = [rng.randint(8, 64) for _ in range(1024)]
        args.lengths_file = pathlib.Path(tmp) / "lengths.txt"
        args.lengths_file.write_text(" ".join(map(str, lengths)) + "\n")
        clients = str(args.clients)

        print("max_batch_size 1 server", file=sys.stderr)
        server = start_server(args, model_dir, "--max_batch_size", "1",
                              "--max_queue_size", "1024")
        try:
            unbatched = attnbench(args, server, "--concurrency", clients)
        finally:
            server.stop()

        print("default batching server (--max_queue_size 64)", file=sys.stderr)
        server = start_server(args, model_dir)
        pid = server.process.pid
        try:
            rss_start = proc_status_kib(pid, "VmRSS")
            batched = attnbench(args, server, "--concurrency", clients)
            capacity = batched["requests_per_s"]
            rss_after_closed = proc_status_kib(pid, "VmRSS")
            # Offline right after, while the server idles: the machine's load changes over
            # time, so the two figures to compare are measured close together.
            mean_batch = batched["batch_size_mean"]["minilm"]
            offline_batch = max(1, round(mean_batch))
            offline = offline_tokens_per_s(args, model_dir, lengths[:128], offline_batch)
            half, double, rss_double, hwm = half_and_double_load(args, server, capacity)
        finally:
            server.stop()

        print(f"queue time budget server (--max_queue_time_ms {args.queue_time_ms}, "
              f"--max_batch_size {args.budget_batch_size}): 50% and 200%", file=sys.stderr)
        server = start_server(args, model_dir, "--max_queue_time_ms", str(args.queue_time_ms),
                              "--max_batch_size", str(args.budget_batch_size))
        try:
            budget_half, budget_double, rss_budget, budget_hwm = half_and_double_load(
                args, server, capacity)
        finally:
            server.stop()

        print("core encoder offline, one text at a time and in batches", file=sys.stderr)
        offline_single = offline_tokens_per_s(args, model_dir, lengths[:64], 1)
        offline_batched = offline_tokens_per_s(args, model_dir, lengths[:128], offline_batch)
        offline_by_batch = {b: offline_tokens_per_s(args, model_dir, lengths[:128], b)
                            for b in (8, 16, 32, 64)}
        offline_best_batch = max(offline_by_batch, key=offline_by_batch.get)
        offline_best = offline_by_batch[offline_best_batch]

        tuning = []
        if not args.skip_tuning:
            for batch_size in (1, 8, 32):
                for delay_us in (0, 2000):
                    print(f"tuning: --max_batch_size {batch_size} --max_queue_delay_us "
                          f"{delay_us}", file=sys.stderr)
                    server = start_server(args, model_dir, "--max_batch_size", str(batch_size),
                                          "--max_queue_delay_us", str(delay_us),
                                          "--max_queue_size", "1024")
                    try:
                        report = attnbench(args, server, "--concurrency", clients)
                    finally:
                        server.stop()
                    tuning.append((batch_size, delay_us, report))

        print("latency of one 16-token text: core, ONNX Runtime, gRPC", file=sys.stderr)
        latency = latency_1x16(args, model_dir, tmp)

    figures["loadavg_end"] = loadavg()

    def shed_ratio(report):
        calls = report["requests"] + report["error_calls"]
        return report["errors"].get("RESOURCE_EXHAUSTED", 0) / calls if calls else 0.0

    def unexpected_errors(report):
        return {k: v for k, v in report["errors"].items() if k != "RESOURCE_EXHAUSTED"}

    figures.update(
        unbatched=unbatched, batched=batched, half_load=half, double_load=double,
        budget_half_load=budget_half, budget_double_load=budget_double,
        offline_batch=offline_batch, offline_tokens_per_s=offline,
        offline_single_tokens_per_s=offline_single,
        offline_batched_tokens_per_s=offline_batched,
        offline_batching_gain=offline_batched / offline_single,
        offline_tokens_per_s_by_batch=offline_by_batch, offline_best_batch=offline_best_batch,
        batched_over_offline_best=batched["tokens_per_s"] / offline_best,
        tuning=[{"max_batch_size": b, "max_queue_delay_us": d, "report": r}
                for b, d, r in tuning],
        batched_over_unbatched=batched["tokens_per_s"] / unbatched["tokens_per_s"],
        batched_over_offline=batched["tokens_per_s"] / offline,
        shed_ratio=shed_ratio(double), unexpected_errors=unexpected_errors(double),
        budget_shed_ratio=shed_ratio(budget_double),
        budget_unexpected_errors=unexpected_errors(budget_double),
        p99_double_over_half=double["p99_ms"] / half["p99_ms"],
        budget_p99_double_over_half=budget_double["p99_ms"] / budget_half["p99_ms"],
        latency_1x16=latency,
        rss_kib={"start": rss_start, "after_closed_loop": rss_after_closed,
                 "during_2x_min": min(rss_double), "during_2x_max": max(rss_double),
                 "during_2x_last": rss_double[-1], "vm_hwm": hwm,
                 "budget_during_2x_max": max(rss_budget), "budget_vm_hwm": budget_hwm})

    f = figures
    rss = f["rss_kib"]
    print(f"""
Model: random-weight MiniLM-L6 size (hidden 384, 6 layers, 12 heads, FFN 1536), FP32,
`--compute_threads {args.threads}`, {"OMP_WAIT_POLICY=" + args.omp_wait_policy if args.omp_wait_policy else "GOMP_SPINCOUNT=3000"}; one text per call, 8..64 tokens; {args.clients} closed-loop
clients; {args.duration:g} s per measurement after {args.warmup:g} s warm-up.
CPU: {f['cpu']}; load average at start {' '.join(f['loadavg_start'])}, at end
{' '.join(f['loadavg_end'])} (the 2 cores are shared with other work).

| configuration | calls/s | tokens/s | p50 ms | p99 ms | mean batch |
| --- | ---: | ---: | ---: | ---: | ---: |
| batching (defaults), {args.clients} clients | {batched['requests_per_s']:.1f} | {batched['tokens_per_s']:.0f} | {batched['p50_ms']:.1f} | {batched['p99_ms']:.1f} | {mean_batch:.1f} |
| `--max_batch_size 1`, {args.clients} clients | {unbatched['requests_per_s']:.1f} | {unbatched['tokens_per_s']:.0f} | {unbatched['p50_ms']:.1f} | {unbatched['p99_ms']:.1f} | {unbatched['batch_size_mean']['minilm']:.1f} |
| core encoder offline, batches of {offline_batch} | | {offline:.0f} | | | {offline_batch} |
| open loop 50% of capacity ({half['rate']:.0f}/s) | {half['requests_per_s']:.1f} | {half['tokens_per_s']:.0f} | {half['p50_ms']:.1f} | {half['p99_ms']:.1f} | |
| open loop 200% of capacity ({double['rate']:.0f}/s) | {double['requests_per_s']:.1f} | {double['tokens_per_s']:.0f} | {double['p50_ms']:.1f} | {double['p99_ms']:.1f} | |
| budget server: open loop 50% | {budget_half['requests_per_s']:.1f} | {budget_half['tokens_per_s']:.0f} | {budget_half['p50_ms']:.1f} | {budget_half['p99_ms']:.1f} | |
| budget server: open loop 200% | {budget_double['requests_per_s']:.1f} | {budget_double['tokens_per_s']:.0f} | {budget_double['p50_ms']:.1f} | {budget_double['p99_ms']:.1f} | |
| core encoder offline, one text at a time | | {offline_single:.0f} | | | 1 |
| core encoder offline, batches of {offline_batch} (again) | | {offline_batched:.0f} | | | {offline_batch} |

Budget server: `--max_queue_time_ms {args.queue_time_ms} --max_batch_size {args.budget_batch_size}`.

| target | measured |
| --- | --- |
| {args.clients} single-text clients >= 90% of the offline core's best batched throughput (issue 13) | {100 * f['batched_over_offline_best']:.0f}% ({batched['tokens_per_s']:.0f} vs {offline_best:.0f} tokens/s, offline batches of {offline_best_batch}; by batch size: {', '.join(f'{b}: {v:.0f}' for b, v in offline_by_batch.items())}) |
| batched >= 80% of offline core at the server's mean batch | {100 * f['batched_over_offline']:.0f}% |
| batched vs `--max_batch_size 1` (information; the core offline allows {f['offline_batching_gain']:.2f}x: batches of {offline_batch} vs one text at a time) | {f['batched_over_unbatched']:.2f}x |
| 2x capacity: excess shed with RESOURCE_EXHAUSTED | defaults: {100 * f['shed_ratio']:.0f}% of calls shed, other errors: {f['unexpected_errors'] or 'none'}; budget server: {100 * f['budget_shed_ratio']:.0f}%, other errors: {f['budget_unexpected_errors'] or 'none'} |
| 2x capacity: p99 of accepted <= 3x p99 at 50% | defaults: {f['p99_double_over_half']:.2f}x ({double['p99_ms']:.1f} vs {half['p99_ms']:.1f} ms); budget server: {f['budget_p99_double_over_half']:.2f}x ({budget_double['p99_ms']:.1f} vs {budget_half['p99_ms']:.1f} ms) |
| RSS flat | VmRSS {rss['start'] / 1024:.0f} MiB at start, {rss['after_closed_loop'] / 1024:.0f} MiB after the closed loop, {rss['during_2x_min'] / 1024:.0f}..{rss['during_2x_max'] / 1024:.0f} MiB during the 2x run; peak (VmHWM) {rss['vm_hwm'] / 1024:.0f} MiB; budget server peak {rss['budget_vm_hwm'] / 1024:.0f} MiB |
| (issue 8) one 16-token text: core <= 0.8x ONNX Runtime | {latency['core_ms']:.2f} ms vs {latency['ort_ms']:.2f} ms = {latency['core_ms'] / latency['ort_ms']:.2f}x |
| (issue 8) through gRPC <= 1.0x ONNX Runtime in process | p50 {latency['grpc_p50_ms']:.2f} ms (p99 {latency['grpc_p99_ms']:.2f}) = {latency['grpc_p50_ms'] / latency['ort_ms']:.2f}x |
""")
    if tuning:
        print(f"Tuning: {args.clients} closed-loop clients, one text of 8..64 tokens each, "
              "`--max_queue_size 1024`\n")
        print("| `--max_batch_size` | `--max_queue_delay_us` | calls/s | tokens/s | p50 ms | "
              "p99 ms | mean batch |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for b, d, r in tuning:
            print(f"| {b} | {d} | {r['requests_per_s']:.1f} | {r['tokens_per_s']:.0f} | "
                  f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['batch_size_mean']['minilm']:.1f} |")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
