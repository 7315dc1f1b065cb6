#!/usr/bin/python3
"""EncodeStream throughput (issue 13): one pipelined stream vs 64 concurrent unary callers.

  /usr/bin/python3 bench/stream_bench.py [--build_dir build] [--requests 512] [--reps 3]

A MiniLM-L6-sized model (random weights, bench/serve_bench.py's directory) served with the
server's defaults; a Python grpcio client sends --requests requests of one text each, 8..64
tokens (uniform, fixed seed; the same texts in every mode):
  - stream: one EncodeStream, every request written without waiting for answers;
  - unary-64: Encode calls, 64 in flight at a time (grpc futures);
  - lockstep: one EncodeStream that writes the next request only after the previous answer,
    which is what a stream got from a server that read one request at a time.
Reports requests/s (median of --reps), the ratios stream / unary-64 (target >= 0.8) and
stream / lockstep, and the mean batch size the server formed (from /metrics).
"""
import argparse
import json
import os
import pathlib
import queue
import random
import statistics
import sys
import tempfile
import threading
import time

SOURCE_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SOURCE_DIR / "bench"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402  (the stubs, as building the client package makes them)
_STUBS = tempfile.TemporaryDirectory()
sys.path.insert(0, str(gen_stubs.generate(_STUBS.name)))
from attnserve_process import AttnServe, metric, scrape  # noqa: E402
from serve_bench import attnbench_words, write_model  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build_dir", type=pathlib.Path, default=SOURCE_DIR / "build")
    parser.add_argument("--model_dir", type=pathlib.Path, help="reuse a model directory")
    parser.add_argument("--requests", type=int, default=512)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    import attnserve_client
    from attnserve_client import pb

    tmp = tempfile.TemporaryDirectory()
    model_dir = args.model_dir
    if model_dir is None:
        model_dir = pathlib.Path(tmp.name) / "minilm"
        write_model(model_dir)
    words = attnbench_words()
    rng = random.Random(5)
    requests = [pb.EncodeRequest(texts=[" ".join(rng.choice(words)
                                                 for _ in range(rng.randint(6, 62)))])
                for _ in range(args.requests)]
    server = AttnServe(args.build_dir, ["--model", f"minilm={model_dir}"], metrics=True)
    client = attnserve_client.Client(server.address, timeout=120)

    def stream():
        answers = list(client.encoder.EncodeStream(iter(requests), timeout=120))
        assert len(answers) == len(requests)

    def unary():
        pending = []
        for request in requests:
            if len(pending) >= args.concurrency:
                pending.pop(0).result()
            pending.append(client.encoder.Encode.future(request, timeout=120))
        for future in pending:
            future.result()

    def lockstep():
        outbox = queue.Queue()

        def writes():
            for request in requests:
                yield request
                outbox.get()  # the answer to it arrived
        answers = 0
        for _ in client.encoder.EncodeStream(writes(), timeout=120):
            answers += 1
            outbox.put(None)
        assert answers == len(requests)

    modes = {"stream": stream, "unary-64": unary, "lockstep": lockstep}
    results = {name: [] for name in modes}
    batch = {name: [] for name in modes}
    try:
        unary()  # warm-up
        for _ in range(args.reps):
            for name, run in modes.items():  # interleaved: load changes hit every mode
                before = scrape(server.metrics_address)
                start = time.perf_counter()
                run()
                seconds = time.perf_counter() - start
                after = scrape(server.metrics_address)
                results[name].append(len(requests) / seconds)
                batches = (metric(after, "attnserve_batch_size_count", model="minilm") -
                           metric(before, "attnserve_batch_size_count", model="minilm"))
                batch[name].append(len(requests) / max(batches, 1))
    finally:
        server.stop()
    rps = {name: statistics.median(v) for name, v in results.items()}
    out = {"requests": args.requests, "requests_per_s": rps, "all": results,
           "mean_batch_size": {k: statistics.median(v) for k, v in batch.items()},
           "stream_over_unary": rps["stream"] / rps["unary-64"],
           "stream_over_lockstep": rps["stream"] / rps["lockstep"],
           "loadavg": os.getloadavg()[0]}
    print("| mode | requests/s | mean batch |\n| --- | --- | --- |")
    for name in modes:
        print(f"| {name} | {rps[name]:.0f} | {out['mean_batch_size'][name]:.1f} |")
    print(f"stream / unary-64 = {out['stream_over_unary']:.2f}, "
          f"stream / lockstep = {out['stream_over_lockstep']:.2f}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
