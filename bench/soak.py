#!/usr/bin/env python3
"""Soak test (not in CI): mixed traffic against one attnserve for N minutes, reporting the
server's RSS over time.

  ./dev soak MINUTES        (= /usr/bin/python3 bench/soak.py --minutes MINUTES)

Starts build/bin/attnserve --model demo on 127.0.0.1 (ports it picks) and runs, side by side
and in rounds of 30 s: attnbench closed-loop Encode (16 clients, 1-4 texts of 8..128 tokens),
EncodeStream (4 streams), Attend (4 clients, 1..256 query tokens) and an open-loop Encode at
40/s with 50 ms deadlines (so some calls expire). Every 10 s it samples VmRSS; at the end it
prints start / peak / end RSS and every round's errors, and exits 1 if the server died.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from attnserve_process import AttnServe  # noqa: E402

BUILD = ROOT / "build"
LOADS = [
    ["--method", "encode", "--concurrency", "16", "--texts_per_request", "2",
     "--min_tokens", "8", "--max_tokens", "128"],
    ["--method", "stream", "--concurrency", "4", "--min_tokens", "8", "--max_tokens", "64"],
    ["--method", "attend", "--concurrency", "4", "--min_tokens", "3", "--max_tokens", "256"],
    ["--method", "encode", "--rate", "40", "--deadline_ms", "50", "--min_tokens", "8",
     "--max_tokens", "64"],
]


def rss_mib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--round_seconds", type=float, default=30)
    args = ap.parse_args()

    server = AttnServe(BUILD, ["--model", "demo"], metrics=True)
    pid = server.process.pid
    samples = [(0.0, rss_mib(pid))]
    start = time.monotonic()
    end = start + args.minutes * 60
    rounds = 0
    died = False
    while time.monotonic() < end and not died:
        seconds = min(args.round_seconds, max(1.0, end - time.monotonic()))
        procs = [subprocess.Popen(
            [str(BUILD / "bin" / "attnbench"), "--address", server.address,
             "--metrics_address", server.metrics_address or "", "--duration", str(seconds),
             "--warmup", "0", "--json", "--seed", str(rounds * 10 + i), *load],
            stdout=subprocess.PIPE, text=True) for i, load in enumerate(LOADS)]
        next_sample = time.monotonic() + 10
        while any(p.poll() is None for p in procs):
            time.sleep(0.5)
            if time.monotonic() >= next_sample:
                samples.append((time.monotonic() - start, rss_mib(pid)))
                next_sample += 10
            if server.process.poll() is not None:
                died = True
                break
        results = [json.loads(p.communicate()[0].splitlines()[-1]) for p in procs
                   if p.wait() == 0]
        rounds += 1
        summary = ", ".join(f"{r['method']} {r['requests_per_s']:.0f}/s p99 {r['p99_ms']:.0f} ms "
                            f"errors {r['errors']}" for r in results)
        print(f"round {rounds} at {time.monotonic() - start:.0f} s: RSS {rss_mib(pid):.1f} MiB; "
              f"{summary}", flush=True)
    samples.append((time.monotonic() - start, rss_mib(pid) if not died else 0.0))
    code = server.stop() if not died else server.process.returncode
    rss = [r for _, r in samples if r > 0]
    print(f"RSS MiB: start {rss[0]:.1f}, peak {max(rss):.1f}, end {rss[-1]:.1f} "
          f"({len(samples)} samples over {samples[-1][0] / 60:.1f} min); server exit code {code}")
    print("curve (s: MiB): " + ", ".join(f"{t:.0f}: {r:.0f}" for t, r in samples))
    return 1 if died or code != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
