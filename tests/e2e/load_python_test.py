#!/usr/bin/python3
"""The batching scheduler under load, end to end: the real attnserve with the demo model,
called concurrently over gRPC from Python, observed through /metrics; and an attnbench smoke
test. Loopback only, each test bounded to a few seconds of load.

  /usr/bin/python3 tests/e2e/load_python_test.py BUILD_DIR SOURCE_DIR
"""
import json
import pathlib
import random
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

BUILD_DIR = pathlib.Path(sys.argv[1])
SOURCE_DIR = pathlib.Path(sys.argv[2])
_STUBS = tempfile.TemporaryDirectory()
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402  (the stubs, as building the package makes them)
sys.path.insert(0, str(gen_stubs.generate(_STUBS.name)))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import attnserve_client  # noqa: E402
import grpc  # noqa: E402
from attnserve_client import from_tensor, pb  # noqa: E402
from attnserve_process import AttnServe, metric, sanitizer, scrape  # noqa: E402

# How much slower the server's request path is: the waits for calls to reach the queue
# scale with it (ThreadSanitizer slows every memory access of the gRPC path).
SLOWDOWN = {"": 1, "address": 4, "thread": 10}[sanitizer(BUILD_DIR)]

# Words of the demo vocabulary: each is one token.
WORDS = ("the of and to in a is that for it as was with be by on not he this are or from at "
         "which but have an had they you were their one all we can her has there been if more "
         "when will would who so no time people year world day").split()
CALL_TIMEOUT = 60  # seconds; generous, the machine may be shared


def random_texts(n, min_words, max_words, seed):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words)))
            for _ in range(n)]


def wait_all(futures):
    """gRPC futures -> list of (status code, response or None)."""
    out = []
    for future in futures:
        try:
            out.append((grpc.StatusCode.OK, future.result()))
        except grpc.RpcError as error:
            out.append((error.code(), None))
        except grpc.FutureCancelledError:  # cancelled by this client
            out.append((grpc.StatusCode.CANCELLED, None))
    return out


def assert_serves_normally(test, client):
    """After a burst has been shed, a call is admitted and answered."""
    response = client.encoder.Encode(pb.EncodeRequest(texts=["hello world"] * 8),
                                     timeout=CALL_TIMEOUT)
    test.assertEqual(len(response.embeddings), 8)


class LoadTest(unittest.TestCase):
    """One demo server with a large queue, for batching, deadlines and cancellation."""

    @classmethod
    def setUpClass(cls):
        cls.server = AttnServe(BUILD_DIR, ["--model", "demo", "--max_queue_size", "4096",
                                           "--max_batch_size", "32"], metrics=True)
        cls.client = attnserve_client.Client(cls.server.address, timeout=CALL_TIMEOUT)
        cls.encode = cls.client.encoder.Encode

    @classmethod
    def tearDownClass(cls):
        cls.client.channel.close()
        assert cls.server.stop() == 0, "attnserve did not exit 0 on SIGTERM"

    def scrape(self):
        return scrape(self.server.metrics_address)

    def start_backlog(self, requests=48, texts=16, seed=7):
        """Queues long Encode calls (no deadline) that keep the compute busy for a while
        (~170k tokens: over a second even on an idle machine), and waits until they queue."""
        backlog = [self.encode.future(pb.EncodeRequest(texts=random_texts(texts, 200, 250,
                                                                          seed + i)),
                                      timeout=CALL_TIMEOUT) for i in range(requests)]
        deadline = time.monotonic() + CALL_TIMEOUT
        while metric(self.scrape(), "attnserve_queue_depth", model="demo") == 0:
            self.assertLess(time.monotonic(), deadline, "the backlog never queued")
            time.sleep(0.01)
        return backlog

    def wait_queue_empty(self):
        deadline = time.monotonic() + CALL_TIMEOUT
        while time.monotonic() < deadline:
            if metric(self.scrape(), "attnserve_queue_depth", model="demo") == 0:
                return
            time.sleep(0.05)
        self.fail("attnserve_queue_depth{model=demo} did not return to 0")

    def test_concurrent_clients_get_the_results_of_calls_alone(self):
        texts = random_texts(64, 6, 60, seed=1)
        request = lambda text: pb.EncodeRequest(texts=[text], return_token_embeddings=True)
        alone = [self.encode(request(text), timeout=CALL_TIMEOUT) for text in texts]
        before = self.scrape()
        futures = [self.encode.future(request(text), timeout=CALL_TIMEOUT) for text in texts]
        together = wait_all(futures)
        after = self.scrape()
        for i, ((code, response), single) in enumerate(zip(together, alone)):
            self.assertEqual(code, grpc.StatusCode.OK, f"call {i}")
            (got,), (want,) = response.embeddings, single.embeddings
            self.assertEqual(got.num_tokens, want.num_tokens)
            np.testing.assert_allclose(np.array(got.pooled), np.array(want.pooled), rtol=0,
                                       atol=1e-5, err_msg=f"texts {i} pooled")
            np.testing.assert_allclose(from_tensor(got.token_embeddings),
                                       from_tensor(want.token_embeddings), rtol=0, atol=1e-5,
                                       err_msg=f"texts {i} token embeddings")
        # Batching happened: some batches of this burst held more than one request.
        batches = (metric(after, "attnserve_batch_size_count", model="demo") -
                   metric(before, "attnserve_batch_size_count", model="demo"))
        single = (metric(after, "attnserve_batch_size_bucket", model="demo", le="1") -
                  metric(before, "attnserve_batch_size_bucket", model="demo", le="1"))
        self.assertGreater(batches - single, 0, "no batch of the burst held > 1 request")
        self.assertLess(batches, 64)
        tokens = sum(r.total_tokens for _, r in together)
        self.assertEqual(metric(after, "attnserve_tokens_total", model="demo") -
                         metric(before, "attnserve_tokens_total", model="demo"), tokens)
        # The tokenizer's CPU time is counted: 64 texts of 6..60 words take well over 1 us.
        tokenize_cpu = (metric(after, "attnserve_tokenize_cpu_seconds_total", model="demo") -
                        metric(before, "attnserve_tokenize_cpu_seconds_total", model="demo"))
        self.assertGreater(tokenize_cpu, 1e-6)
        self.assertLess(tokenize_cpu, 1.0 * SLOWDOWN)

    def test_short_deadlines_under_load_are_dropped_not_computed(self):
        before = self.scrape()
        backlog = self.start_backlog(seed=100)
        doomed = [self.encode.future(pb.EncodeRequest(texts=random_texts(2, 20, 40, seed=i)),
                                     timeout=timeout)
                  for i, timeout in enumerate([0.001] * 16 + [0.1 * SLOWDOWN] * 16)]
        doomed_results = wait_all(doomed)
        backlog_results = wait_all(backlog)
        self.wait_queue_empty()
        after = self.scrape()
        self.assertEqual([code for code, _ in doomed_results],
                         [grpc.StatusCode.DEADLINE_EXCEEDED] * len(doomed))
        self.assertEqual([code for code, _ in backlog_results],
                         [grpc.StatusCode.OK] * len(backlog))
        # Only the backlog was computed: not one token of the expired calls.
        computed = (metric(after, "attnserve_tokens_total", model="demo") -
                    metric(before, "attnserve_tokens_total", model="demo"))
        self.assertEqual(computed, sum(r.total_tokens for _, r in backlog_results))
        # Expired calls that reached the scheduler are shed, never computed (checked exactly
        # above). Whether one counts as "deadline" or "cancelled" depends on which timer fires
        # first: the client's deadline passes before the server's (which starts when the call
        # arrives), and a client that gives up first sends a plain cancellation. Under ASan the
        # 100 ms calls were all shed as "cancelled", so only the sum is asserted. (The 100 ms
        # deadline scales with SLOWDOWN: under TSan 100 ms calls ended before reaching the queue.)
        delta = lambda reason: (
            metric(after, "attnserve_shed_total", model="demo", reason=reason) -
            metric(before, "attnserve_shed_total", model="demo", reason=reason))
        shed = delta("deadline") + delta("cancelled")
        self.assertGreaterEqual(shed, 2)
        self.assertLessEqual(shed, 2 * len(doomed))
        self.assertEqual(self.encode(pb.EncodeRequest(texts=["hello world"])).model, "demo")

    def test_cancelled_calls_leave_nothing_behind(self):
        before = self.scrape()
        backlog = self.start_backlog(seed=200)
        cancelled = [self.encode.future(pb.EncodeRequest(texts=random_texts(4, 20, 40, seed=i)),
                                        timeout=CALL_TIMEOUT) for i in range(16)]
        time.sleep(0.3 * SLOWDOWN)  # they are queued behind the backlog now
        queued = metric(self.scrape(), "attnserve_queue_depth", model="demo")
        for future in cancelled:
            future.cancel()
        backlog_results = wait_all(backlog)
        self.assertEqual([code for code, _ in wait_all(cancelled)],
                         [grpc.StatusCode.CANCELLED] * len(cancelled))
        self.wait_queue_empty()
        after = self.scrape()
        self.assertGreaterEqual(queued, 16 * 4, "the cancelled calls were not queued")
        self.assertEqual(metric(after, "attnserve_shed_total", model="demo", reason="cancelled") -
                         metric(before, "attnserve_shed_total", model="demo", reason="cancelled"),
                         16 * 4)
        computed = (metric(after, "attnserve_tokens_total", model="demo") -
                    metric(before, "attnserve_tokens_total", model="demo"))
        self.assertEqual(computed, sum(r.total_tokens for _, r in backlog_results))
        self.assertEqual(self.encode(pb.EncodeRequest(texts=["hello world"])).model, "demo")


class QueueLimitTest(unittest.TestCase):
    """A burst over --max_queue_size is shed at once; the rest is served."""

    def test_burst_over_the_queue_limit(self):
        server = AttnServe(BUILD_DIR, ["--model", "demo", "--max_queue_size", "8",
                                       "--max_batch_size", "4"], metrics=True)
        try:
            client = attnserve_client.Client(server.address, timeout=CALL_TIMEOUT)
            before = scrape(server.metrics_address)
            futures = [client.encoder.Encode.future(
                pb.EncodeRequest(texts=random_texts(4, 150, 200, seed=i)), timeout=CALL_TIMEOUT)
                for i in range(48)]
            results = wait_all(futures)
            after = scrape(server.metrics_address)
            codes = [code for code, _ in results]
            ok = codes.count(grpc.StatusCode.OK)
            shed = codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)
            self.assertEqual(ok + shed, len(codes), codes)
            self.assertGreaterEqual(ok, 2)
            self.assertGreaterEqual(shed, 1)
            for _, response in results:
                if response is not None:
                    self.assertEqual(len(response.embeddings), 4)
            self.assertEqual(
                metric(after, "attnserve_shed_total", model="demo", reason="queue_full") -
                metric(before, "attnserve_shed_total", model="demo", reason="queue_full"),
                4 * shed)
            self.assertEqual(
                metric(after, "attnserve_requests_total", method="attnserve.v1.EncoderService/"
                       "Encode", code="RESOURCE_EXHAUSTED") -
                metric(before, "attnserve_requests_total", method="attnserve.v1.EncoderService/"
                       "Encode", code="RESOURCE_EXHAUSTED"), shed)
            assert_serves_normally(self, client)
            client.channel.close()
        finally:
            self.assertEqual(server.stop(), 0)


class QueueTimeBudgetTest(unittest.TestCase):
    """With --max_queue_time_ms a burst is admitted only while the work ahead is expected to
    finish within the budget (measured cost per token); the rest is shed at once."""

    def test_burst_over_the_queue_time_budget(self):
        server = AttnServe(BUILD_DIR, ["--model", "demo", "--max_queue_size", "4096",
                                       "--max_batch_size", "4", "--max_queue_time_ms", "100"],
                           metrics=True)
        try:
            client = attnserve_client.Client(server.address, timeout=CALL_TIMEOUT)
            # One computed batch gives the scheduler its cost per token.
            client.encoder.Encode(pb.EncodeRequest(texts=random_texts(4, 150, 200, seed=99)),
                                  timeout=CALL_TIMEOUT)
            before = scrape(server.metrics_address)
            futures = [client.encoder.Encode.future(
                pb.EncodeRequest(texts=random_texts(4, 150, 200, seed=i)), timeout=CALL_TIMEOUT)
                for i in range(48)]
            codes, messages = [], []
            for future in futures:
                try:
                    self.assertEqual(len(future.result().embeddings), 4)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as error:
                    codes.append(error.code())
                    messages.append(error.details())
            after = scrape(server.metrics_address)
            ok = codes.count(grpc.StatusCode.OK)
            shed = codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)
            self.assertEqual(ok + shed, len(codes), codes)
            self.assertGreaterEqual(ok, 1)
            self.assertGreaterEqual(shed, 1)
            for message in messages:
                self.assertIn("max_queue_time", message)
            delta = lambda reason: (
                metric(after, "attnserve_shed_total", model="demo", reason=reason) -
                metric(before, "attnserve_shed_total", model="demo", reason=reason))
            self.assertEqual(delta("queue_time"), 4 * shed)
            self.assertEqual(delta("queue_full"), 0)
            assert_serves_normally(self, client)
            client.channel.close()
        finally:
            self.assertEqual(server.stop(), 0)


class AttnbenchSmokeTest(unittest.TestCase):
    """attnbench against a demo server: closed loop per method and open loop, --json."""

    @classmethod
    def setUpClass(cls):
        cls.server = AttnServe(BUILD_DIR, ["--model", "demo"], metrics=True)

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def run_attnbench(self, *args):
        argv = [str(BUILD_DIR / "bin" / "attnbench"), "--address", self.server.address,
                "--metrics_address", self.server.metrics_address, "--duration", "2",
                "--warmup", "0.5", "--min_tokens", "8", "--max_tokens", "32", "--json", *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def check(self, report, method, queue):
        self.assertEqual(report["method"], method)
        self.assertGreater(report["requests"], 0)
        self.assertEqual(report["errors"], {})
        self.assertEqual(report["error_calls"], 0)
        self.assertGreaterEqual(report["sequences"], report["requests"])
        self.assertGreater(report["tokens"], 8 * report["sequences"] - 1)
        self.assertLessEqual(report["p50_ms"], report["p99_ms"])
        self.assertLessEqual(report["p99_ms"], report["max_ms"])
        buckets = report["batch_size_buckets"][queue]
        self.assertEqual(list(buckets)[-1], "+Inf")
        self.assertGreater(buckets["+Inf"], 0)
        self.assertEqual(sorted(buckets.values()), list(buckets.values()))  # cumulative
        self.assertGreaterEqual(report["batch_size_mean"][queue], 1)

    def test_closed_loop(self):
        for method, queue in (("encode", "demo"), ("stream", "demo"), ("attend", "attention")):
            with self.subTest(method=method):
                report = self.run_attnbench("--method", method, "--concurrency", "8",
                                            "--texts_per_request", "2")
                self.check(report, method, queue)
                self.assertEqual(report["sequences"], 2 * report["requests"])

    def test_open_loop(self):
        report = self.run_attnbench("--method", "encode", "--rate", "40")
        self.check(report, "encode", "demo")
        self.assertAlmostEqual(report["rate"], 40)
        # Poisson arrivals at 40/s for ~2 s.
        self.assertGreater(report["requests"], 20)
        self.assertLess(report["requests"], 200)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
