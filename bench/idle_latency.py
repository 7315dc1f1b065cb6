#!/usr/bin/python3
"""Latency after idle gaps (issue 13): traffic is bursty, so measure the calls that follow a
pause, not only a warm loop.

  /usr/bin/python3 bench/idle_latency.py [--build_dir build] [--gap 3] [--rounds 8]

A MiniLM-L6-sized model (random weights, bench/serve_bench.py's directory) served by
attnserve with its own defaults (no OMP_* / GOMP_* set). A Python grpcio client sends one
16-token text per Encode, one call at a time:
  - warm: --warm calls back to back, p50;
  - after idle: --rounds times, sleep --gap seconds, then --calls calls back to back; for
    each call index the median over rounds, as a ratio to the warm p50;
  - where the time of call 1 goes (server side, from /metrics deltas around that one call):
    the handler's whole duration, its queue wait and its compute;
  - idle CPU: the server's user+system ticks from 1 s after the last call, over --idle_window
    seconds, as % of one core.
Targets: call 1 <= 2x warm p50, calls 2..10 <= 1.2x, idle CPU < 1%.
With --turns N (needs python3-torch and onnxruntime-node in bench/peers, as
bench/compare_encoder.py): the same 16-token text through ONNX Runtime in process and through
attnserve's gRPC in alternating turns of --turn_calls calls, N turns each, the server idle
while ORT runs (issue 8's latency target measured as traffic arrives): medians of all calls.
--env NAME=VALUE (repeatable) sets server environment variables, for A/B runs.
Prints a Markdown table and the raw figures as JSON.
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

SOURCE_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SOURCE_DIR / "bench"))
sys.path.insert(0, str(SOURCE_DIR / "bench" / "peers"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
from attnserve_process import AttnServe, metric, scrape  # noqa: E402
from serve_bench import attnbench_words, write_model  # noqa: E402

ENCODE = "attnserve.v1.EncoderService/Encode"


def cpu_ticks(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def server_split(before, after):
    """ms of the one call between two scrapes: handler, queue wait, compute."""
    def delta(name, **labels):
        return 1000 * (metric(after, name, **labels) - metric(before, name, **labels))
    return {"handler_ms": delta("attnserve_request_duration_seconds_sum", method=ENCODE),
            "queue_ms": delta("attnserve_queue_duration_seconds_sum", model="minilm"),
            "compute_ms": delta("attnserve_compute_duration_seconds_sum", model="minilm")}


def alternate_with_ort(args, model_dir, tmp, grpc_call):
    """ORT and gRPC calls of one 16-token text in alternating turns."""
    import subprocess
    import compare_encoder  # torch and the ONNX export; imported only here
    onnx_path = str(pathlib.Path(tmp) / "minilm.onnx")
    compare_encoder.export_onnx(str(model_dir), onnx_path)
    compare_encoder.ort_times(onnx_path, [("1x16", [16])], 3, args.threads)  # installs ORT
    ort = subprocess.Popen(["node", str(SOURCE_DIR / "bench" / "peers" / "ort_runner.js"),
                            onnx_path, str(args.threads), "turns", "1", "16"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ort_ms, grpc_ms = [], []
    try:
        for _ in range(args.turns):
            ort.stdin.write(f"{args.turn_calls}\n")
            ort.stdin.flush()
            ort_ms += json.loads(ort.stdout.readline())["ms"]
            grpc_ms += [grpc_call() for _ in range(args.turn_calls)]
    finally:
        ort.stdin.close()
        ort.wait(timeout=30)
    return {"ort_p50_ms": statistics.median(ort_ms), "grpc_p50_ms": statistics.median(grpc_ms),
            "ort_ms": ort_ms, "grpc_ms": grpc_ms}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build_dir", type=pathlib.Path, default=SOURCE_DIR / "build")
    parser.add_argument("--model_dir", type=pathlib.Path, help="reuse a model directory")
    parser.add_argument("--gap", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--idle_window", type=float, default=5.0)
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--label", default="")
    parser.add_argument("--turns", type=int, default=0)
    parser.add_argument("--turn_calls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2,
                        help="--compute_threads of the server and ORT's intra-op threads")
    args = parser.parse_args()

    import grpc
    import attnserve_client
    from attnserve_client import pb

    tmp = tempfile.TemporaryDirectory()
    model_dir = args.model_dir
    if model_dir is None:
        model_dir = pathlib.Path(tmp.name) / "minilm"
        write_model(model_dir)
    saved_env = dict(os.environ)
    for assignment in args.env:
        name, value = assignment.split("=", 1)
        os.environ[name] = value
    server = AttnServe(args.build_dir, ["--model", f"minilm={model_dir}", "--compute_threads",
                                        str(args.threads)], metrics=True)
    os.environ.clear()
    os.environ.update(saved_env)
    try:
        client = attnserve_client.Client(server.address, timeout=30)
        words = attnbench_words()
        request = pb.EncodeRequest(texts=[" ".join(words[:14])])  # 14 words + 2 specials
        assert client.encoder.Encode(request).embeddings[0].num_tokens == 16

        def call():
            start = time.perf_counter()
            client.encoder.Encode(request, timeout=30)
            return 1000 * (time.perf_counter() - start)

        before = scrape(server.metrics_address)
        warm = [call() for _ in range(args.warm)]
        warm_split = {k: v / args.warm
                      for k, v in server_split(before, scrape(server.metrics_address)).items()}
        warm_p50 = statistics.median(warm)
        after_gap = []
        split = []
        for _ in range(args.rounds):
            time.sleep(args.gap)
            before = scrape(server.metrics_address)
            first = call()
            split.append(server_split(before, scrape(server.metrics_address)))
            after_gap.append([first] + [call() for _ in range(args.calls - 1)])
        turns = alternate_with_ort(args, model_dir, tmp.name, call) if args.turns else None
        time.sleep(1.0)
        ticks = cpu_ticks(server.process.pid)
        time.sleep(args.idle_window)
        idle_cpu = 100 * (cpu_ticks(server.process.pid) - ticks) / os.sysconf("SC_CLK_TCK") \
            / args.idle_window
    finally:
        server.stop()

    per_call = [statistics.median(r[i] for r in after_gap) for i in range(args.calls)]
    ratios = [ms / warm_p50 for ms in per_call]
    first_split = {k: statistics.median(s[k] for s in split) for k in split[0]}
    result = {"label": args.label, "env": args.env, "gap_s": args.gap, "rounds": args.rounds,
              "warm_p50_ms": warm_p50, "warm_p90_ms": sorted(warm)[int(0.9 * len(warm))],
              "after_gap_median_ms": per_call, "ratio_to_warm": ratios,
              "call1_server_side_ms": first_split, "warm_server_side_mean_ms": warm_split, "idle_cpu_percent_of_a_core": idle_cpu,
              "turns": turns, "loadavg": os.getloadavg()[0]}
    print(f"| {args.label or 'attnserve'} | {warm_p50:.2f} | {per_call[0]:.2f} "
          f"({ratios[0]:.2f}x) | {max(ratios[1:10]):.2f}x | "
          f"{' '.join(f'{r:.2f}' for r in ratios[:10])} | "
          f"{first_split['handler_ms']:.2f} / {first_split['queue_ms']:.2f} / "
          f"{first_split['compute_ms']:.2f} | {warm_split['compute_ms']:.2f} | "
          f"{idle_cpu:.2f}% |")
    if turns:
        print(f"turns of {args.turn_calls} calls, {args.turns} each: ORT in process p50 "
              f"{turns['ort_p50_ms']:.2f} ms, attnserve gRPC p50 {turns['grpc_p50_ms']:.2f} ms "
              f"= {turns['grpc_p50_ms'] / turns['ort_p50_ms']:.2f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
