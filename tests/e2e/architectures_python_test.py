#!/usr/bin/python3
"""End-to-end: attnserve serves every architecture of tests/golden/models (RoBERTa, XLM-R,
MPNet, NomicBERT, ModernBERT), ListModels names them, and Encode over the golden token ids
gives the independent float64 torch reference's outputs (tests/golden/gen_models.py).

  /usr/bin/python3 tests/e2e/architectures_python_test.py BUILD_DIR SOURCE_DIR
"""
import json
import pathlib
import struct
import sys
import tempfile
import unittest

import numpy as np

BUILD_DIR = pathlib.Path(sys.argv[1])
SOURCE_DIR = pathlib.Path(sys.argv[2])
MODELS = SOURCE_DIR / "tests" / "golden" / "models"
_STUBS = tempfile.TemporaryDirectory()
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402  (the stubs, as building the package makes them)
sys.path.insert(0, str(gen_stubs.generate(_STUBS.name)))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import attnserve_client  # noqa: E402
from attnserve_client import from_tensor, pb  # noqa: E402
from attnserve_process import AttnServe  # noqa: E402

TOL = 1e-4  # FP32 vs the float64 torch reference, as the core golden tests
# served name: (directory, config.json architectures[0], hidden, layers, heads)
SERVED = {
    "xlmr": ("xlm_roberta", "XLMRobertaModel", 32, 2, 4),
    "roberta": ("roberta", "RobertaForMaskedLM", 32, 2, 4),
    "mpnet": ("mpnet", "MPNetForMaskedLM", 32, 2, 4),
    "nomic": ("nomic_bert", "NomicBertModel", 64, 2, 4),
    "modernbert": ("modernbert", "ModernBertForMaskedLM", 64, 3, 4),
}


def read_safetensors(path):
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype="<f4").reshape(
            info["shape"])
    return out


class ArchitecturesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        args = []
        for name, (directory, *_) in SERVED.items():
            args += ["--model", f"{name}={MODELS / directory}"]
        cls.server = AttnServe(BUILD_DIR, args)
        cls.client = attnserve_client.Client(cls.server.address, timeout=60)
        cls.inputs = json.loads((MODELS / "inputs.json").read_text())

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0, "attnserve did not exit 0 on SIGTERM"

    def test_list_models_reports_the_architectures(self):
        models = {m.name: m for m in self.client.models().models}
        for name, (_, architecture, hidden, layers, heads) in SERVED.items():
            m = models[name]
            self.assertEqual((m.architecture, m.hidden_size, m.num_layers, m.num_heads),
                             (architecture, hidden, layers, heads), name)

    def test_token_embeddings_and_attention_maps_match_torch(self):
        for name, (directory, *_) in SERVED.items():
            expected = read_safetensors(MODELS / directory / "expected.safetensors")
            seqs = self.inputs[directory]
            # The API has no token type ids: NomicBERT's sentence pair (row 1) is left out.
            rows = [r for r in range(len(seqs))
                    if not any(self.inputs.get(directory + "_token_types", [[]] * 9)[r])]
            offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])])
            response = self.client.encoder.Encode(pb.EncodeRequest(
                model=name, token_ids=[pb.TokenIds(ids=seqs[r]) for r in rows],
                return_token_embeddings=True, attention_layers=[-1], pooling=pb.MEAN),
                timeout=60)
            layers = SERVED[name][3]
            for r, embedding in zip(rows, response.embeddings):
                want = expected["hidden"][offsets[r]:offsets[r + 1]]
                np.testing.assert_allclose(from_tensor(embedding.token_embeddings), want,
                                           atol=TOL, err_msg=f"{name} sequence {r}")
                np.testing.assert_allclose(embedding.pooled, expected["pooled_mean"][r],
                                           atol=TOL, err_msg=f"{name} sequence {r}")
                key = f"attention.{layers - 1}.{r}"
                if key in expected:
                    np.testing.assert_allclose(from_tensor(embedding.attention[0]),
                                               expected[key], atol=TOL, err_msg=key)

    def test_texts_encode_through_each_tokenizer(self):
        for name in SERVED:
            result = self.client.encode(["attention is all you need", "hello world"],
                                        model=name)
            pooled = result["pooled"]
            self.assertEqual(pooled.shape, (2, SERVED[name][2]), name)
            self.assertTrue(np.isfinite(pooled).all(), name)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
