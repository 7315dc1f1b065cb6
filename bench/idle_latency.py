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
while ORT runs (issue 8's latency target measured as traffic arrives): medians of all calls;
and the p50 of a grpc.health.v1 Check from the same client, the round trip that computes nothing.
--env NAME=VALUE and --server_arg=--flag=value (repeatable) set the server's environment
and flags, for A/B runs.
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
import gen_stubs  # noqa: E402  (the stubs, as building the client package makes them)
_STUBS = tempfile.TemporaryDirectory()
sys.path.insert(0, str(gen_stubs.generate(_STUBS.name)))
from attnserve_process import AttnServe, metric, scrape  # noqa: E402
from serve_bench import attnbench_words, write_model  # noqa: E402

ENCODE = "attnserve.v1.EncoderService/Encode"


def cpu_ticks(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_ns(pid):
    """CPU time of every thread of `pid` so far, in ns (schedstat: finer than ticks)."""
    total = 0
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended
    return total


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
    compare_encoder.export_onnx("bert", str(model_dir), onnx_path)
    compare_encoder.ort_times(onnx_path, [("1x16", [16])], 3, args.threads)  # installs ORT
    ort = subprocess.Popen(["node", str(SOURCE_DIR / "bench" / "peers" / "ort_runner.js"),
                            onnx_path, str(args.threads), "turns", "1", "16"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ort_ms, grpc_ms, ort_after_gap = [], [], []

    def ort_calls(count):
        ort.stdin.write(f"{count}\n")
        ort.stdin.flush()
        return json.loads(ort.stdout.readline())["ms"]
    try:
        ort_warm = ort_calls(args.warm)
        for _ in range(args.turns):
            ort_ms += ort_calls(args.turn_calls)
            grpc_ms += [grpc_call() for _ in range(args.turn_calls)]
        # The peer after the same idle gaps: how much of the ramp is the machine's.
        for _ in range(args.rounds):
            time.sleep(args.gap)
            ort_after_gap.append(ort_calls(args.calls))
    finally:
        ort.stdin.close()
        ort.wait(timeout=30)
    ort_warm_p50 = statistics.median(ort_warm)
    ort_per_call = [statistics.median(r[i] for r in ort_after_gap) for i in range(args.calls)]
    return {"ort_p50_ms": statistics.median(ort_ms), "grpc_p50_ms": statistics.median(grpc_ms),
            "ort_ms": ort_ms, "grpc_ms": grpc_ms, "ort_warm_p50_ms": ort_warm_p50,
            "ort_after_gap_median_ms": ort_per_call,
            "ort_ratio_to_warm": [ms / ort_warm_p50 for ms in ort_per_call]}


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
    parser.add_argument("--server_arg", action="append", default=[],
                        help="extra attnserve flag, e.g. --server_arg=--compute_hold_us=0")
    parser.add_argument("--label", default="")
    parser.add_argument("--turns", type=int, default=0)
    parser.add_argument("--split_every_call", action="store_true",
                        help="diagnosis: the server-side split of every call after a gap")
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
                                        str(args.threads), *args.server_arg], metrics=True)
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
        split_calls = []
        for _ in range(args.rounds):
            time.sleep(args.gap)
            if args.split_every_call:  # diagnosis: the scrapes add gaps between the calls
                times, splits = [], []
                for _ in range(args.calls):
                    before = scrape(server.metrics_address)
                    times.append(call())
                    splits.append(server_split(before, scrape(server.metrics_address)))
                split.append(splits[0])
                split_calls.append(splits)
                after_gap.append(times)
                continue
            before = scrape(server.metrics_address)
            first = call()
            split.append(server_split(before, scrape(server.metrics_address)))
            after_gap.append([first] + [call() for _ in range(args.calls - 1)])
        # The CPU one lone call costs the server, spinning after it included.
        per_call_cpu = []
        for _ in range(5):
            time.sleep(1.0)
            start_ns = cpu_ns(server.process.pid)
            call()
            time.sleep(1.0)
            per_call_cpu.append((cpu_ns(server.process.pid) - start_ns) / 1e6)
        turns = alternate_with_ort(args, model_dir, tmp.name, call) if args.turns else None
        if turns:  # the round trip of a call that computes nothing: gRPC's share
            client.health()
            floor = []
            for _ in range(args.warm):
                start = time.perf_counter()
                client.health()
                floor.append(1000 * (time.perf_counter() - start))
            turns["health_check_p50_ms"] = statistics.median(floor)
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
              "lone_call_cpu_ms": statistics.median(per_call_cpu), "turns": turns, "loadavg": os.getloadavg()[0]}
    print(f"| {args.label or 'attnserve'} | {warm_p50:.2f} | {per_call[0]:.2f} "
          f"({ratios[0]:.2f}x) | {max(ratios[1:10]):.2f}x | "
          f"{' '.join(f'{r:.2f}' for r in ratios[:10])} | "
          f"{first_split['handler_ms']:.2f} / {first_split['queue_ms']:.2f} / "
          f"{first_split['compute_ms']:.2f} | {warm_split['compute_ms']:.2f} | "
          f"{statistics.median(per_call_cpu):.1f} | {idle_cpu:.2f}% |")
    if split_calls:
        for key in ("handler_ms", "compute_ms"):
            print(f"server {key} per call after the gap (median over rounds): " + " ".join(
                f"{statistics.median(r[i][key] for r in split_calls):.2f}"
                for i in range(args.calls)))
    if turns:
        print(f"turns of {args.turn_calls} calls, {args.turns} each: ORT in process p50 "
              f"{turns['ort_p50_ms']:.2f} ms, attnserve gRPC p50 {turns['grpc_p50_ms']:.2f} ms "
              f"= {turns['grpc_p50_ms'] / turns['ort_p50_ms']:.2f}x; a health Check round trip "
              f"(no compute) p50 {turns['health_check_p50_ms']:.2f} ms")
        print(f"| ONNX Runtime in process (peer) | {turns['ort_warm_p50_ms']:.2f} | "
              f"{turns['ort_after_gap_median_ms'][0]:.2f} ({turns['ort_ratio_to_warm'][0]:.2f}x)"
              f" | {max(turns['ort_ratio_to_warm'][1:10]):.2f}x | "
              f"{' '.join(f'{r:.2f}' for r in turns['ort_ratio_to_warm'][:10])} | | | | |")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
