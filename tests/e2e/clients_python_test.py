#!/usr/bin/python3
"""End to end through the shipped clients: attnctl (JSON and .npy in/out), the Python
attention-map example (PNG), and start-up failures for bad model directories.

  /usr/bin/python3 tests/e2e/clients_python_test.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

BUILD_DIR = pathlib.Path(sys.argv[1])
SOURCE_DIR = pathlib.Path(sys.argv[2])
_TMP = tempfile.TemporaryDirectory()
TMP = pathlib.Path(_TMP.name)
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402  (the stubs, as building the package makes them)
# The examples import the package: its source and the stubs on PYTHONPATH.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(gen_stubs.generate(TMP / "stubs")), str(SOURCE_DIR / "client" / "python")])
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
from attnserve_process import AttnServe  # noqa: E402

ATTNCTL = str(BUILD_DIR / "bin" / "attnctl")


def softmax_attention(q, k, v):
    scores = q.astype(np.float64) @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return w @ v, w


class ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = AttnServe(BUILD_DIR, ["--model", "demo"])

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def attnctl(self, *args, check=True):
        result = subprocess.run([ATTNCTL, "--address", self.server.address, *args],
                                capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def test_health_models_tokenize_encode(self):
        self.assertEqual(self.attnctl("health").stdout.strip(), "SERVING")
        models = json.loads(self.attnctl("models").stdout)
        self.assertEqual(models["default_model"], "demo")
        self.assertEqual(models["models"][0]["hidden_size"], 128)
        tokens = json.loads(self.attnctl("tokenize", "hello world").stdout)[0]
        self.assertEqual([t["text"] for t in tokens], ["[CLS]", "hello", "world", "[SEP]"])
        self.assertEqual((tokens[2]["start"], tokens[2]["end"]), (6, 11))
        out = json.loads(self.attnctl("encode", "--layers=-1", "hello world", "a b c").stdout)
        self.assertEqual(len(out["embeddings"]), 2)
        pooled = np.array(out["embeddings"][0]["pooled"])
        self.assertEqual(pooled.shape, (128,))
        self.assertAlmostEqual(float(np.linalg.norm(pooled)), 1.0, places=5)  # demo: normalised
        self.assertEqual(out["embeddings"][0]["attention"][0]["shape"], [4, 4, 4])
        self.assertEqual(out["total_tokens"], 4 + 5)

    def test_attend_npy_round_trip(self):
        rng = np.random.default_rng(3)
        q = rng.standard_normal((2, 3, 5, 8)).astype(np.float32)
        k = rng.standard_normal((2, 3, 6, 8)).astype(np.float32)
        v = rng.standard_normal((2, 3, 6, 4)).astype(np.float64)  # float64 is accepted
        for name, array in (("q", q), ("k", k), ("v", v)):
            np.save(TMP / f"{name}.npy", array)
        self.attnctl("attend", f"--query={TMP / 'q.npy'}", f"--key={TMP / 'k.npy'}",
                     f"--value={TMP / 'v.npy'}", f"--out={TMP / 'o.npy'}",
                     f"--weights={TMP / 'w.npy'}")
        want_out, want_w = softmax_attention(q, k, v)
        np.testing.assert_allclose(np.load(TMP / "o.npy"), want_out, atol=1e-5)
        np.testing.assert_allclose(np.load(TMP / "w.npy"), want_w, atol=1e-5)
        bad = self.attnctl("attend", f"--query={TMP / 'q.npy'}", "--hard", "--top_k=0",
                           check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("top_k", bad.stderr)

    def test_attention_map_example_writes_png(self):
        png = TMP / "attention.png"
        result = subprocess.run(
            ["/usr/bin/python3", str(SOURCE_DIR / "client/python/examples/attention_map.py"),
             "--address", self.server.address, "--out", str(png)],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(png.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
        self.assertIn("4 heads", result.stdout)

    def test_attend_example_script(self):
        result = subprocess.run(
            ["/usr/bin/python3", str(SOURCE_DIR / "client/python/examples/attend.py"),
             "--address", self.server.address], capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)


class BadModelDirectoryTest(unittest.TestCase):
    """attnserve refuses to start, naming the file and the problem."""

    def start_fails(self, model_dir, expect):
        result = subprocess.run(
            [str(BUILD_DIR / "bin" / "attnserve"), "--address", "127.0.0.1:0",
             "--metrics_address", "", "--model", f"bad={model_dir}"],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertLess(result.returncode, 128, "crashed: " + result.stderr)
        self.assertIn(expect, result.stderr)
        self.assertIn("model bad", result.stderr)

    def copy_tiny(self, name):
        target = TMP / name
        shutil.copytree(SOURCE_DIR / "tests/golden/tiny_bert", target)
        return target

    def test_missing_and_broken_files(self):
        self.start_fails(TMP / "does-not-exist", "does-not-exist: model directory not found")
        d = self.copy_tiny("no_vocab")
        (d / "vocab.txt").unlink()
        self.start_fails(d, "vocab.txt")
        d = self.copy_tiny("truncated")
        data = (d / "model.safetensors").read_bytes()
        (d / "model.safetensors").write_bytes(data[:len(data) // 2])
        self.start_fails(d, "model.safetensors")
        d = self.copy_tiny("relu")
        config = json.loads((d / "config.json").read_text())
        config["hidden_act"] = "relu6"
        (d / "config.json").write_text(json.dumps(config))
        self.start_fails(d, "hidden_act")
        d = self.copy_tiny("huge")
        config["hidden_act"], config["hidden_size"] = "gelu", 10**9
        (d / "config.json").write_text(json.dumps(config))
        self.start_fails(d, "hidden_size")
        file_not_dir = TMP / "a_file"
        file_not_dir.write_text("x")
        self.start_fails(file_not_dir, "a_file")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
