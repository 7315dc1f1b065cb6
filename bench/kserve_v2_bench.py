#!/usr/bin/python3
"""What the Open Inference Protocol adapter costs: attnserve.v1 Encode vs KServe v2
ModelInfer (BYTES in `contents`, and in `raw_input_contents`) on the same texts.

  /usr/bin/python3 bench/kserve_v2_bench.py [--build_dir build] [--requests 512] [--reps 3]

A MiniLM-L6-sized model (random weights, bench/serve_bench.py's directory) served with the
server's defaults; a Python grpcio client sends --requests calls of --texts texts each,
8..64 tokens per text (fixed seed; the same texts in every mode), --concurrency in flight.
Modes run interleaved, --reps times; reports calls/s (median) and each v2 mode's ratio to
v1 in the same run, plus the load average.
"""
import argparse
import json
import os
import pathlib
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SOURCE_DIR / "bench"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402
_STUBS = tempfile.TemporaryDirectory()
gen_stubs.generate(_STUBS.name)
subprocess.run(["protoc", f"-I{SOURCE_DIR / 'proto'}", f"--python_out={_STUBS.name}",
                f"--grpc_out={_STUBS.name}",
                "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                str(SOURCE_DIR / "proto" / "kserve" / "v2" / "grpc_predict_v2.proto")],
               check=True)
sys.path.insert(0, _STUBS.name)
import grpc  # noqa: E402
from attnserve.v1 import attnserve_pb2 as v1, attnserve_pb2_grpc as v1_grpc  # noqa: E402
from attnserve_process import AttnServe  # noqa: E402
from kserve.v2 import grpc_predict_v2_pb2 as v2  # noqa: E402
from kserve.v2 import grpc_predict_v2_pb2_grpc as v2_grpc  # noqa: E402
from serve_bench import attnbench_words, write_model  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build_dir", type=pathlib.Path, default=SOURCE_DIR / "build")
    parser.add_argument("--model_dir", type=pathlib.Path, help="reuse a model directory")
    parser.add_argument("--requests", type=int, default=512)
    parser.add_argument("--texts", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)  # x texts <= the queue (64)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    model_dir = args.model_dir
    if model_dir is None:
        model_dir = pathlib.Path(tmp.name) / "minilm"
        write_model(model_dir)
    words = attnbench_words()
    rng = random.Random(5)
    calls = [[" ".join(rng.choice(words) for _ in range(rng.randint(6, 62)))
              for _ in range(args.texts)] for _ in range(args.requests)]
    v1_requests = [v1.EncodeRequest(model="minilm", texts=texts) for texts in calls]

    def v2_request(texts, raw):
        tensor = v2.ModelInferRequest.InferInputTensor(name="text", datatype="BYTES",
                                                       shape=[len(texts)])
        encoded = [t.encode() for t in texts]
        if not raw:
            tensor.contents.bytes_contents.extend(encoded)
        request = v2.ModelInferRequest(model_name="minilm", inputs=[tensor])
        if raw:
            request.raw_input_contents.append(
                b"".join(struct.pack("<I", len(t)) + t for t in encoded))
        return request
    v2_contents = [v2_request(texts, False) for texts in calls]
    v2_raw = [v2_request(texts, True) for texts in calls]

    server = AttnServe(args.build_dir, ["--model", f"minilm={model_dir}"])
    channel = grpc.insecure_channel(server.address)
    encoder = v1_grpc.EncoderServiceStub(channel)
    inference = v2_grpc.GRPCInferenceServiceStub(channel)

    def run(method, requests):
        pending = []
        for request in requests:
            if len(pending) >= args.concurrency:
                pending.pop(0).result()
            pending.append(method.future(request, timeout=120))
        for future in pending:
            future.result()

    modes = {"v1 Encode": (encoder.Encode, v1_requests),
             "v2 ModelInfer contents": (inference.ModelInfer, v2_contents),
             "v2 ModelInfer raw": (inference.ModelInfer, v2_raw)}
    results = {name: [] for name in modes}
    try:
        run(encoder.Encode, v1_requests)  # warm-up
        for _ in range(args.reps):
            for name, (method, requests) in modes.items():  # interleaved
                start = time.perf_counter()
                run(method, requests)
                results[name].append(len(requests) / (time.perf_counter() - start))
    finally:
        channel.close()
        server.stop()
    rps = {name: statistics.median(v) for name, v in results.items()}
    print(f"| mode | calls/s | / v1 |\n| --- | --- | --- |")
    for name in modes:
        print(f"| {name} | {rps[name]:.1f} | {rps[name] / rps['v1 Encode']:.3f} |")
    print(json.dumps({"calls_per_s": rps, "all": results, "texts_per_call": args.texts,
                      "concurrency": args.concurrency, "loadavg": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
