#!/usr/bin/python3
"""End-to-end Attend from Python (grpcio) against the real attnserve binary,
compared with torch: softmax(Q K^T / sqrt(d) + mask) V.

  /usr/bin/python3 tests/e2e/attend_python_test.py BUILD_DIR SOURCE_DIR

Stubs are generated at test time into a temporary directory with protoc and
grpc_python_plugin (client/python/gen_stubs.py). Bounded: gives up after 120 s.
"""
import math
import pathlib
import signal
import sys
import tempfile
import unittest

import numpy as np
import torch

BUILD_DIR = pathlib.Path(sys.argv[1])
SOURCE_DIR = pathlib.Path(sys.argv[2])

sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import gen_stubs  # noqa: E402
from attnserve_process import AttnServe  # noqa: E402

_STUBS = tempfile.TemporaryDirectory()
gen_stubs.generate(_STUBS.name)
sys.path.insert(0, _STUBS.name)
import grpc  # noqa: E402
from attnserve.v1 import attnserve_pb2 as pb  # noqa: E402
from attnserve.v1 import attnserve_pb2_grpc as pb_grpc  # noqa: E402


def to_tensor(array, as_values=False):
    array = np.ascontiguousarray(array, dtype="<f4")
    if as_values:
        return pb.Tensor(shape=list(array.shape), values=array.ravel().tolist())
    return pb.Tensor(shape=list(array.shape), dtype=pb.FP32, raw=array.tobytes())


def from_tensor(tensor):
    shape = tuple(tensor.shape)
    if tensor.dtype == pb.BF16:
        bits = np.frombuffer(tensor.raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    return np.frombuffer(tensor.raw, dtype="<f4").reshape(shape)


def torch_attention(q, k, v, mask=None, causal=False):
    """softmax(q k^T / sqrt(d) + mask) v over the last two axes, in float64."""
    q, k, v = (torch.from_numpy(np.asarray(x, dtype=np.float64)) for x in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + torch.from_numpy(np.asarray(mask, dtype=np.float64))
    if causal:
        q_len, k_len = scores.shape[-2:]
        # Query i sits at key position i + (k_len - q_len).
        visible = torch.ones(q_len, k_len).tril(k_len - q_len).bool()
        scores = scores.masked_fill(~visible, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights @ v).numpy(), weights.numpy()


class AttendFromPythonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = AttnServe(BUILD_DIR)
        cls.channel = grpc.insecure_channel(cls.server.address)
        grpc.channel_ready_future(cls.channel).result(timeout=10)
        cls.stub = pb_grpc.AttentionServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        assert cls.server.stop() == 0, "attnserve did not exit 0 on SIGTERM"

    def test_rank4_with_weights_matches_torch(self):
        rng = np.random.default_rng(0)
        q = rng.standard_normal((2, 3, 5, 16), dtype=np.float32)
        k = rng.standard_normal((2, 3, 7, 16), dtype=np.float32)
        v = rng.standard_normal((2, 3, 7, 8), dtype=np.float32)
        response = self.stub.Attend(
            pb.AttendRequest(query=to_tensor(q), key=to_tensor(k), value=to_tensor(v),
                             return_weights=True), timeout=30)
        want_out, want_weights = torch_attention(q, k, v)
        self.assertEqual(list(response.output.shape), [2, 3, 5, 8])
        self.assertEqual(response.output.dtype, pb.FP32)
        np.testing.assert_allclose(from_tensor(response.output), want_out, atol=2e-5, rtol=1e-5)
        self.assertEqual(list(response.weights.shape), [2, 3, 5, 7])
        np.testing.assert_allclose(from_tensor(response.weights), want_weights, atol=1e-6)

    def test_rank3_values_mask_and_causal_match_torch(self):
        rng = np.random.default_rng(1)
        q = rng.standard_normal((2, 4, 8), dtype=np.float32)
        k = rng.standard_normal((2, 6, 8), dtype=np.float32)
        mask = rng.standard_normal((4, 6), dtype=np.float32)
        response = self.stub.Attend(
            pb.AttendRequest(query=to_tensor(q, as_values=True), key=to_tensor(k, as_values=True),
                             mask=to_tensor(mask), spec=pb.AttentionSpec(causal=True),
                             return_weights=True), timeout=30)
        want_out, want_weights = torch_attention(q, k, k, mask=mask, causal=True)
        self.assertEqual(list(response.output.shape), [2, 4, 8])
        np.testing.assert_allclose(from_tensor(response.output), want_out, atol=2e-5, rtol=1e-5)
        self.assertEqual(list(response.weights.shape), [2, 4, 6])
        np.testing.assert_allclose(from_tensor(response.weights), want_weights, atol=1e-6)

    def test_bf16_output(self):
        rng = np.random.default_rng(2)
        q = rng.standard_normal((1, 2, 6, 32), dtype=np.float32)
        response = self.stub.Attend(pb.AttendRequest(query=to_tensor(q), output_dtype=pb.BF16),
                                    timeout=30)
        self.assertEqual(response.output.dtype, pb.BF16)
        self.assertEqual(len(response.output.raw), q.size * 2)
        want_out, _ = torch_attention(q, q, q)
        # One BF16 rounding of the FP32 result: relative error <= 2^-8.
        np.testing.assert_allclose(from_tensor(response.output), want_out, rtol=2**-8, atol=1e-6)

    def test_invalid_argument_names_the_field(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.Attend(pb.AttendRequest(query=pb.Tensor(shape=[2, 8, 64], dtype=pb.FP32,
                                                              raw=bytes(4095))), timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("query.raw has 4095 bytes, expected 4096", caught.exception.details())


if __name__ == "__main__":
    signal.alarm(120)  # never hang the test suite
    unittest.main(argv=sys.argv[:1], verbosity=2)
