#!/usr/bin/python3
"""EncodeStream pipelining, end to end against the real attnserve (demo model): requests are
read and queued while earlier ones compute, so a stream's requests batch together; answers
keep request order; a client that does not read holds a bounded amount of server memory; a
cancelled stream's queued work is dropped. Observed through /metrics. Loopback only, bounded.

  /usr/bin/python3 tests/e2e/stream_python_test.py BUILD_DIR SOURCE_DIR
"""
import pathlib
import random
import sys
import tempfile
import threading
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
from attnserve_client import pb  # noqa: E402
from attnserve_process import AttnServe, metric, sanitizer, scrape  # noqa: E402

SLOWDOWN = {"": 1, "address": 4, "thread": 10}[sanitizer(BUILD_DIR)]
WORDS = ("the of and to in a is that for it as was with be by on not he this are or from at "
         "which but have an had they you were their one all we can her has there been").split()
CALL_TIMEOUT = 120
# The server's per-stream in-flight limit (server/api/v1/encoder_service.cc).
MAX_IN_FLIGHT = 64


def random_texts(n, min_words, max_words, seed):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words)))
            for _ in range(n)]


class StreamTest(unittest.TestCase):
    def start(self, *args):
        self.server = AttnServe(BUILD_DIR, ["--model", "demo", *args], metrics=True)
        self.addCleanup(self.server.stop)
        self.client = attnserve_client.Client(self.server.address, timeout=CALL_TIMEOUT)

    def scrape(self):
        return scrape(self.server.metrics_address)

    def computed_tokens(self):
        return metric(self.scrape(), "attnserve_tokens_total", model="demo")

    def wait_queue_empty(self):
        deadline = time.monotonic() + 30 * SLOWDOWN
        while time.monotonic() < deadline:
            if metric(self.scrape(), "attnserve_queue_depth", model="demo") == 0:
                time.sleep(0.3 * SLOWDOWN)  # a batch may still be computing
                return
            time.sleep(0.05)
        self.fail("the queue did not empty")

    def test_answers_in_order_and_batches_the_streams_requests(self):
        self.start()
        texts = random_texts(256, 1, 60, seed=3)
        requests = [pb.EncodeRequest(texts=[t]) for t in texts]
        before = self.scrape()
        responses = list(self.client.encoder.EncodeStream(iter(requests), timeout=CALL_TIMEOUT))
        after = self.scrape()
        self.assertEqual(len(responses), len(requests))
        lengths = [len(tokens) for tokens in self.client.tokenize(texts)]
        self.assertEqual([r.embeddings[0].num_tokens for r in responses], lengths)
        for i in range(0, len(texts), 17):  # each answer is its own request's
            alone = self.client.encoder.Encode(requests[i], timeout=CALL_TIMEOUT)
            np.testing.assert_allclose(responses[i].embeddings[0].pooled,
                                       alone.embeddings[0].pooled, atol=1e-5)
        batches = (metric(after, "attnserve_batch_size_count", model="demo") -
                   metric(before, "attnserve_batch_size_count", model="demo"))
        sequences = (metric(after, "attnserve_batch_size_sum", model="demo") -
                     metric(before, "attnserve_batch_size_sum", model="demo"))
        self.assertEqual(sequences, len(requests))
        # One request at a time would make one batch per request.
        self.assertLess(batches, len(requests) / 2,
                        f"{batches} batches for {len(requests)} streamed requests")

    def test_a_client_that_does_not_read_holds_bounded_memory(self):
        self.start()
        # Large answers (token embeddings of 200-token texts) fill gRPC's flow-control window
        # quickly; then the server stops reading at its in-flight limit.
        text = " ".join(WORDS[i % len(WORDS)] for i in range(200))
        count = 600
        request = pb.EncodeRequest(texts=[text], return_token_embeddings=True)
        sent = []

        def requests():
            for _ in range(count):
                sent.append(1)
                yield request

        # Warm: batches of this size computed once (their workspace is the encoder's).
        list(self.client.encoder.EncodeStream(iter([request] * 2 * MAX_IN_FLIGHT),
                                              timeout=CALL_TIMEOUT))
        rss_before = self.server.proc_status_kb("VmRSS") / 1024
        start_tokens = self.computed_tokens()
        call = self.client.encoder.EncodeStream(requests(), timeout=CALL_TIMEOUT)
        tokens_per_request = len(self.client.tokenize([text])[0])
        # The server computes what it read, writes what the transport takes, then stops:
        # wait until the count holds still for a second (bounded).
        computed, computed_later = -1, 0
        deadline = time.monotonic() + 30 * SLOWDOWN
        while computed != computed_later and time.monotonic() < deadline:
            computed = computed_later
            time.sleep(1 * SLOWDOWN)
            computed_later = (self.computed_tokens() - start_tokens) / tokens_per_request
        rss_stalled = self.server.proc_status_kb("VmRSS") / 1024
        print(f"not reading: {computed:.0f} -> {computed_later:.0f} of {count} requests "
              f"computed, {len(sent)} sent; RSS {rss_before:.1f} -> {rss_stalled:.1f} MiB",
              file=sys.stderr)
        self.assertEqual(computed, computed_later, "the server kept computing for no reader")
        # Beyond the in-flight limit only what gRPC's transport buffers were written.
        self.assertGreaterEqual(computed, MAX_IN_FLIGHT)
        self.assertLess(computed, 3 * MAX_IN_FLIGHT)
        # The in-flight answers (~100 KiB each) and gRPC's buffers, not 600 answers (60 MiB).
        # Under a sanitizer RSS is mostly its own (ASan's quarantine keeps freed memory).
        if not sanitizer(BUILD_DIR):
            self.assertLess(rss_stalled - rss_before, 24)
        received = 0
        for response in call:
            self.assertEqual(response.embeddings[0].num_tokens, tokens_per_request)
            received += 1
        self.assertEqual(received, count)

    def test_cancel_drops_the_queued_work(self):
        # One sequence per batch: the stream's requests wait in the queue, one computes.
        self.start("--max_batch_size", "1")
        texts = random_texts(MAX_IN_FLIGHT, 300, 400, seed=11)
        requests = [pb.EncodeRequest(texts=[t]) for t in texts]
        before = self.scrape()
        call = self.client.encoder.EncodeStream(iter(requests), timeout=CALL_TIMEOUT)
        next(call)
        queued = metric(self.scrape(), "attnserve_queue_depth", model="demo")
        call.cancel()
        with self.assertRaises(grpc.RpcError) as error:
            list(call)
        self.assertEqual(error.exception.code(), grpc.StatusCode.CANCELLED)
        self.wait_queue_empty()
        after = self.scrape()
        dropped = (metric(after, "attnserve_shed_total", model="demo", reason="cancelled") -
                   metric(before, "attnserve_shed_total", model="demo", reason="cancelled"))
        computed = (metric(after, "attnserve_batch_size_sum", model="demo") -
                    metric(before, "attnserve_batch_size_sum", model="demo"))
        self.assertGreater(queued, 1, "the stream's requests were not queued together")
        self.assertGreater(dropped, 0)
        # Requests not yet read when the client cancelled are neither.
        self.assertLessEqual(computed + dropped, len(requests))
        self.assertLess(computed, len(requests) / 2, "the stream's queued work was computed")
        self.assertEqual(len(self.client.encode(["still serving"])["pooled"]), 1)

    def test_a_bad_request_ends_the_stream_after_the_answers_before_it(self):
        self.start()
        good = [pb.EncodeRequest(texts=t) for t in (["a b"], ["c"], ["d e f"])]
        bad = pb.EncodeRequest(texts=["x"], attention_layers=[99])
        answers = []
        with self.assertRaises(grpc.RpcError) as error:
            for response in self.client.encoder.EncodeStream(iter(good + [bad] + good),
                                                             timeout=CALL_TIMEOUT):
                answers.append(response.embeddings[0].num_tokens)
        self.assertEqual(error.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("attention_layers[0]", error.exception.details())
        self.assertEqual(answers, [4, 3, 5])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
