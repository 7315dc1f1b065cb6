#!/usr/bin/env python3
"""Generates the Python gRPC stubs of attnserve (and grpc.health.v1) with protoc and
grpc_python_plugin, both from Debian (protobuf-compiler, protobuf-compiler-grpc).

  /usr/bin/python3 client/python/gen_stubs.py [OUT_DIR]   (default: attnserve_client/_gen)
"""
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "proto"
GRPC_PROTO_ROOT = pathlib.Path("/usr/share/grpc-proto")


def _protoc(root, proto, out_dir):
    subprocess.run(["protoc", f"-I{root}", f"--python_out={out_dir}", f"--grpc_out={out_dir}",
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    str(pathlib.Path(root) / proto)], check=True)


def generate(out_dir):
    """Writes attnserve/v1/attnserve_pb2(_grpc).py and attnserve_health/v1/health_pb2(_grpc).py.

    health.proto is compiled from a copy under attnserve_health/ because a Python package
    named `grpc` would shadow grpcio; the service is still grpc.health.v1.Health."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _protoc(PROTO_ROOT, "attnserve/v1/attnserve.proto", out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "attnserve_health" / "v1" / "health.proto"
        copy.parent.mkdir(parents=True)
        shutil.copy(GRPC_PROTO_ROOT / "grpc" / "health" / "v1" / "health.proto", copy)
        _protoc(tmp, "attnserve_health/v1/health.proto", out_dir)
    return out_dir


if __name__ == "__main__":
    print(generate(sys.argv[1] if len(sys.argv) > 1 else HERE / "attnserve_client" / "_gen"))
