"""Builds the package with the gRPC stubs generated from ../../proto (gen_stubs.py) into
the wheel: the packages attnserve.v1 and attnserve_health.v1 beside attnserve_client.
Metadata: pyproject.toml."""
import importlib.util
import pathlib

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
STUB_PACKAGES = ("attnserve", "attnserve/v1", "attnserve_health", "attnserve_health/v1")


def load_gen_stubs():
    spec = importlib.util.spec_from_file_location("gen_stubs", HERE / "gen_stubs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithStubs(build_py):
    """build_py, then protoc + grpc_python_plugin into the build directory."""

    def run(self):
        super().run()
        out = pathlib.Path(self.build_lib)
        load_gen_stubs().generate(out)
        for package in STUB_PACKAGES:
            (out / package / "__init__.py").touch()


setup(cmdclass={"build_py": BuildPyWithStubs})
