#!/usr/bin/python3
"""Several replicas behind gRPC's own client-side balancing, on loopback, bounded: three
attnserve replicas, called through one multi-endpoint target (ipv4:A,B,C) by two kinds of
grpcio channel at once, both with the round_robin policy: a plain one (no health checking,
no retry policy: what an old client or an L4 balancer does) and one with client-side
health checking (grpc.health.v1 through the service config). One replica is sent SIGTERM
mid-run and started again on its port. And attnbench, attnctl and the Python client given
the same multi-endpoint target.

  /usr/bin/python3 tests/e2e/scaleout_python_test.py BUILD_DIR SOURCE_DIR
"""
import collections
import json
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BUILD_DIR = pathlib.Path(sys.argv[1])
SOURCE_DIR = pathlib.Path(sys.argv[2])
_STUBS = tempfile.TemporaryDirectory()
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402  (the stubs, as building the package makes them)
sys.path.insert(0, str(gen_stubs.generate(_STUBS.name)))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import attnserve_client  # noqa: E402,F401  (generates the stubs)
import grpc  # noqa: E402
from attnserve_client import pb, pb_grpc  # noqa: E402
from attnserve_process import AttnServe, sanitizer, scrape  # noqa: E402

SLOWDOWN = {"": 1, "address": 4, "thread": 10}[sanitizer(BUILD_DIR)]
REQUEST = pb.EncodeRequest(texts=["the of and to in a is that for it as was with"] * 2)


def encode_calls(address):
    """Encode calls this replica has answered OK, from its /metrics."""
    return sum(value for (name, labels), value in scrape(address).items()
               if name == "attnserve_requests_total" and ("code", "OK") in labels and
               ("method", "attnserve.v1.EncoderService/Encode") in labels)


def channel(target, health_check):
    config = {"loadBalancingConfig": [{"round_robin": {}}]}
    if health_check:
        config["healthCheckConfig"] = {"serviceName": ""}
    return grpc.insecure_channel(target, options=[("grpc.service_config", json.dumps(config))])


class Callers:
    """`threads` threads calling Encode back to back on `channel` until stopped; counts
    the outcomes by status code."""

    def __init__(self, channel, threads):
        self.stub = pb_grpc.EncoderServiceStub(channel)
        self.codes = collections.Counter()
        self.errors = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.stub.Encode(REQUEST, timeout=30 * SLOWDOWN)
                code = "OK"
            except grpc.RpcError as error:
                code = error.code().name
                with self.lock:
                    self.errors.append(f"{code}: {error.details()}")
            with self.lock:
                self.codes[code] += 1

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join()


def encode_counts(replicas):
    return [encode_calls(r.metrics_address) for r in replicas]


class ScaleOutTest(unittest.TestCase):
    def setUp(self):
        self.replicas = [AttnServe(BUILD_DIR, ["--model", "demo"], metrics=True)
                         for _ in range(3)]

    def tearDown(self):
        for replica in self.replicas:
            if replica.process.poll() is None:
                replica.stop()

    def shares(self, seconds):
        """Encode calls each replica answered during the next `seconds`."""
        before = [encode_calls(r.metrics_address) for r in self.replicas]
        time.sleep(seconds)
        return [encode_calls(r.metrics_address) - b for r, b in zip(self.replicas, before)]

    def assert_even(self, shares):
        equal = sum(shares) / len(shares)
        self.assertGreater(equal, 0)
        for share in shares:
            self.assertLessEqual(abs(share - equal), 0.2 * equal, shares)

    def test_round_robin_sigterm_and_restart(self):
        target = "ipv4:" + ",".join(r.address for r in self.replicas)
        plain_channel = channel(target, health_check=False)
        health_channel = channel(target, health_check=True)
        for ch in (plain_channel, health_channel):
            grpc.channel_ready_future(ch).result(timeout=10 * SLOWDOWN)
        plain = Callers(plain_channel, 6)
        health = Callers(health_channel, 6)
        try:
            spread = self.shares(2 * SLOWDOWN)

            drained = self.replicas[0]
            sigterm = time.monotonic()
            drained.process.send_signal(signal.SIGTERM)
            exit_code = drained.process.wait(timeout=10 * SLOWDOWN)
            exit_s = time.monotonic() - sigterm
            drain_log = "".join(drained.log.queue)
            time.sleep(0.5 * SLOWDOWN)  # the other two carry the load

            port = drained.address.rsplit(":", 1)[1]
            self.replicas[0] = AttnServe(BUILD_DIR, ["--model", "demo", "--address",
                                                     "127.0.0.1:" + port], metrics=True)
            restarted = time.monotonic()
            while (encode_calls(self.replicas[0].metrics_address) == 0 and
                   time.monotonic() - restarted < 10 * SLOWDOWN):
                time.sleep(0.05)
            traffic_after_s = time.monotonic() - restarted
            time.sleep(1 * SLOWDOWN)  # the plain channel reconnects with its own backoff
            respread = self.shares(2 * SLOWDOWN)
        finally:
            plain.stop()
            health.stop()
        goaway = [line.strip() for line in drain_log.splitlines() if "GOAWAY" in line]
        print(f"\n  shares before SIGTERM {spread}; replica 0 exit {exit_code} "
              f"{exit_s:.2f} s after SIGTERM ({goaway}); restarted replica's first call after "
              f"{traffic_after_s:.2f} s; shares after restart {respread}; plain channel "
              f"{dict(plain.codes)} {plain.errors}; health-checking channel "
              f"{dict(health.codes)} {health.errors}", file=sys.stderr)
        self.assert_even(spread)
        self.assertEqual(exit_code, 0, drain_log)
        self.assertLess(exit_s, 3 * SLOWDOWN, drain_log)
        self.assertLess(traffic_after_s, 5 * SLOWDOWN)
        self.assert_even(respread)
        # Neither kind of client loses a call: both read the GOAWAY the drain sends first
        # (before grpc::Server::Shutdown, which cancels calls that still arrive), calls
        # that raced it are served and later ones are retried on the other replicas.
        self.assertEqual(health.errors, [])
        self.assertEqual(plain.errors, [])
        self.assertGreater(plain.codes["OK"], 0)
        self.assertGreater(health.codes["OK"], 0)

    def test_clients_balance_over_the_replicas(self):
        """attnbench (64 clients), attnctl and the Python client, each given one
        multi-endpoint target, spread their calls evenly (round_robin)."""
        target = "ipv4:" + ",".join(r.address for r in self.replicas)
        before = encode_counts(self.replicas)
        bench = subprocess.run(
            [str(BUILD_DIR / "bin" / "attnbench"), "--address", target, "--metrics_address",
             "", "--method", "encode", "--concurrency", "64", "--warmup", "0.5",
             "--duration", str(2 * SLOWDOWN), "--json"],
            capture_output=True, text=True, timeout=60 * SLOWDOWN)
        self.assertEqual(bench.returncode, 0, bench.stderr)
        bench_shares = [a - b for a, b in zip(encode_counts(self.replicas), before)]

        before = encode_counts(self.replicas)
        for _ in range(6):
            ctl = subprocess.run([str(BUILD_DIR / "bin" / "attnctl"), "--address", target,
                                  "encode", "the of and", "to in a"],
                                 capture_output=True, text=True, timeout=60 * SLOWDOWN)
            self.assertEqual(ctl.returncode, 0, ctl.stderr)
        ctl_shares = [a - b for a, b in zip(encode_counts(self.replicas), before)]

        client = attnserve_client.Client(target, timeout=30 * SLOWDOWN)
        grpc.channel_ready_future(client.channel).result(timeout=10 * SLOWDOWN)
        time.sleep(0.5)  # health checks of all three answered
        before = encode_counts(self.replicas)
        for _ in range(60):
            client.encode(["the of and to in a"])
        python_shares = [a - b for a, b in zip(encode_counts(self.replicas), before)]
        self.assertTrue(client.health())
        client.channel.close()
        client.health_channel.close()
        print(f"\n  attnbench 64 clients: {bench_shares} ({json.loads(bench.stdout)}); "
              f"attnctl, 6 processes: {ctl_shares}; Python client, 60 calls: "
              f"{python_shares}", file=sys.stderr)
        self.assert_even(bench_shares)
        # Each attnctl process starts its own round_robin at a random replica.
        self.assertEqual(sum(ctl_shares), 6)
        self.assertGreater(min(python_shares), 0)
        self.assert_even(python_shares)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)
