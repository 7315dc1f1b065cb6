#!/usr/bin/python3
"""client/python as a package: `pip install` into a fresh venv (offline, Debian's setuptools,
protoc and grpc_python_plugin; the stubs generated while the wheel is built), then, from
another directory with the venv's python, the examples and the asyncio client against the
real attnserve.

  /usr/bin/python3 tests/e2e/python_package_python_test.py BUILD_DIR SOURCE_DIR
"""
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD_DIR = pathlib.Path(sys.argv[1])
SOURCE_DIR = pathlib.Path(sys.argv[2])
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
from attnserve_process import AttnServe  # noqa: E402

ASYNC_CHECK = """
import asyncio, sys
import numpy as np
import attnserve_client

async def main(target):
    async with attnserve_client.AsyncClient(target, timeout=60) as client:
        assert await client.health()
        models = await client.models()
        texts = ["the quick brown fox", "a second text", ""]
        results = await asyncio.gather(*(client.encode([t], normalize=True) for t in texts))
        tokens = await client.tokenize(["the of and"])
        out, weights = await client.attend(np.eye(4, 8, dtype=np.float32)[None],
                                           return_weights=True)
    with attnserve_client.Client(target, timeout=60) as blocking:
        want = blocking.encode(texts, normalize=True)["pooled"]
    got = np.concatenate([r["pooled"] for r in results])
    np.testing.assert_array_equal(got, want)
    assert [m.name for m in models.models] == ["demo"], models
    assert len(tokens[0]) == 5, tokens
    assert out.shape == (1, 4, 8) and weights.shape == (1, 4, 4)
    print("async ok", attnserve_client.__file__)

asyncio.run(main(sys.argv[1]))
"""


class PythonPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = pathlib.Path(cls.tmp.name)
        # A copy of what the package builds from (client/python and ../../proto), so that
        # the build leaves nothing in the source tree.
        shutil.copytree(SOURCE_DIR / "proto", tmp / "src" / "proto")
        shutil.copytree(SOURCE_DIR / "client" / "python", tmp / "src" / "client" / "python",
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages",
                        "--without-pip", str(tmp / "venv")], check=True, timeout=120)
        cls.python = str(tmp / "venv" / "bin" / "python")
        cls.install = subprocess.run(
            [cls.python, "-m", "pip", "install", "--no-build-isolation", "--no-index",
             str(tmp / "src" / "client" / "python")],
            capture_output=True, text=True, timeout=600)
        cls.server = AttnServe(BUILD_DIR, ["--model", "demo"])
        cls.run_dir = tmp / "elsewhere"
        cls.run_dir.mkdir()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def run_python(self, *args):
        result = subprocess.run([self.python, *args], capture_output=True, text=True,
                                timeout=180, cwd=self.run_dir)
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        return result.stdout

    def test_installed_with_the_generated_stubs(self):
        self.assertEqual(self.install.returncode, 0, self.install.stderr + self.install.stdout)
        out = self.run_python("-c", "import attnserve_client, attnserve.v1.attnserve_pb2 as pb, "
                              "attnserve_health.v1.health_pb2 as h; "
                              "print(attnserve_client.__file__, pb.__file__, h.__file__)")
        site = str(pathlib.Path(self.tmp.name) / "venv" / "lib")
        for path in out.split():
            self.assertTrue(path.startswith(site), out)
        self.assertTrue(out.split()[0].endswith("attnserve_client/__init__.py"))

    def test_examples(self):
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        examples = SOURCE_DIR / "client" / "python" / "examples"
        self.run_python(str(examples / "attend.py"), "--address", self.server.address)
        png = self.run_dir / "attention.png"
        self.run_python(str(examples / "attention_map.py"), "--address", self.server.address,
                        "--out", str(png))
        self.assertEqual(png.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")

    def test_asyncio_client_matches_the_blocking_one(self):
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        self.assertIn("async ok", self.run_python("-c", ASYNC_CHECK, self.server.address))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)
