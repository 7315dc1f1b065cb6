#!/usr/bin/python3
"""Calls attnserve's Attend with plain grpcio and numpy, and checks the result
against numpy: softmax(Q K^T / sqrt(d)) V.

  python3 client/python/examples/attend.py [--address 127.0.0.1:50051]

Uses the stubs the attnserve-client package installs (pip install ./client/python).
"""
import argparse

import grpc
import numpy as np

from attnserve.v1 import attnserve_pb2 as pb
from attnserve.v1 import attnserve_pb2_grpc as pb_grpc


def to_tensor(array):
    """numpy -> attnserve.v1.Tensor: shape + little-endian FP32 bytes in `raw`."""
    array = np.ascontiguousarray(array, dtype="<f4")
    return pb.Tensor(shape=list(array.shape), dtype=pb.FP32, raw=array.tobytes())


def from_tensor(tensor):
    """attnserve.v1.Tensor (raw FP32 or BF16) -> float32 numpy array."""
    if tensor.dtype == pb.BF16:
        bits = np.frombuffer(tensor.raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(tuple(tensor.shape))
    return np.frombuffer(tensor.raw, dtype="<f4").reshape(tuple(tensor.shape))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1:50051")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, 4, 10, 64), dtype=np.float32)  # [batch, heads, q_len, head_dim]
    k = rng.standard_normal((1, 4, 12, 64), dtype=np.float32)  # [batch, heads, k_len, head_dim]
    v = rng.standard_normal((1, 4, 12, 32), dtype=np.float32)  # [batch, heads, k_len, v_dim]

    with grpc.insecure_channel(args.address) as channel:
        stub = pb_grpc.AttentionServiceStub(channel)
        request = pb.AttendRequest(query=to_tensor(q), key=to_tensor(k), value=to_tensor(v),
                                   return_weights=True)
        response = stub.Attend(request, timeout=10)
    output = from_tensor(response.output)    # [1, 4, 10, 32]
    weights = from_tensor(response.weights)  # [1, 4, 10, 12]

    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1])
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    print("output", output.shape, "weights", weights.shape)
    print("max |output - numpy| =", float(np.abs(output - expected @ v).max()))
    print("max |weights - numpy| =", float(np.abs(weights - expected).max()))


if __name__ == "__main__":
    main()
