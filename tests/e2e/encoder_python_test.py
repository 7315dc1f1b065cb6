#!/usr/bin/python3
"""End-to-end EncoderService and MultiHeadAttend from Python against the real attnserve,
compared with the golden outputs of an independent torch BERT (tests/golden/gen_encoder.py).

  /usr/bin/python3 tests/e2e/encoder_python_test.py BUILD_DIR SOURCE_DIR
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
GOLDEN = SOURCE_DIR / "tests" / "golden"
_STUBS = tempfile.TemporaryDirectory()
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402  (the stubs, as building the package makes them)
sys.path.insert(0, str(gen_stubs.generate(_STUBS.name)))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import attnserve_client  # noqa: E402
import grpc  # noqa: E402
from attnserve_client import from_tensor, pb, to_tensor  # noqa: E402
from attnserve_process import AttnServe  # noqa: E402

TOL = 1e-4  # FP32 vs the float64 torch reference, as the core golden tests


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


def normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


class EncoderServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = AttnServe(BUILD_DIR, ["--model", f"tiny={GOLDEN / 'tiny_bert'}",
                                           "--model", "demo"])
        cls.client = attnserve_client.Client(cls.server.address, timeout=60)
        cls.expected = read_safetensors(GOLDEN / "tiny_bert_expected.safetensors")
        inputs = json.loads((GOLDEN / "encoder_inputs.json").read_text())
        # The API has no token type ids: use the sequences whose types are all 0.
        cls.sequences = [(i, ids) for i, (ids, types) in
                         enumerate(zip(inputs["token_ids"], inputs["token_type_ids"]))
                         if not any(types)]
        lengths = [len(ids) for ids in inputs["token_ids"]]
        cls.offsets = np.concatenate([[0], np.cumsum(lengths)])

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0, "attnserve did not exit 0 on SIGTERM"

    def encode_ids(self, ids_list, **kwargs):
        request = pb.EncodeRequest(model=kwargs.pop("model", "tiny"),
                                   token_ids=[pb.TokenIds(ids=ids) for ids in ids_list],
                                   **kwargs)
        return self.client.encoder.Encode(request, timeout=60)

    def test_list_models(self):
        response = self.client.models()
        self.assertEqual(response.default_model, "tiny")
        tiny, demo = response.models
        self.assertEqual((tiny.name, tiny.architecture, tiny.hidden_size, tiny.num_layers,
                          tiny.num_heads, tiny.max_length, tiny.vocab_size, tiny.default_pooling),
                         ("tiny", "BertModel", 32, 2, 4, 64, 326, pb.MEAN))
        self.assertEqual(demo.name, "demo")

    def test_pooled_embeddings_match_torch(self):
        ids = [ids for _, ids in self.sequences]
        rows = [i for i, _ in self.sequences]
        for pooling, key in ((pb.CLS, "pooled_cls"), (pb.MEAN, "pooled_mean"),
                             (pb.MAX, "pooled_max")):
            response = self.encode_ids(ids, pooling=pooling)
            got = np.array([e.pooled for e in response.embeddings])
            # tiny_bert has a sentence-transformers Normalize module: normalised by default.
            np.testing.assert_allclose(got, normalize(self.expected[key][rows]), atol=TOL,
                                       err_msg=key)
        self.assertEqual(response.total_tokens, sum(len(i) for i in ids))
        self.assertEqual([e.num_tokens for e in response.embeddings], [len(i) for i in ids])

    def test_token_embeddings_and_attention_maps_match_torch(self):
        ids = [ids for _, ids in self.sequences]
        response = self.encode_ids(ids, return_token_embeddings=True, attention_layers=[-1, 1])
        for (row, seq), embedding in zip(self.sequences, response.embeddings):
            want = self.expected["hidden"][self.offsets[row]:self.offsets[row + 1]]
            np.testing.assert_allclose(from_tensor(embedding.token_embeddings), want, atol=TOL)
            self.assertEqual(len(embedding.attention), 2)
            key = f"attention.1.{row}"
            if key in self.expected:
                for tensor in embedding.attention:
                    np.testing.assert_allclose(from_tensor(tensor), self.expected[key],
                                               atol=TOL, err_msg=key)

    def test_sequence_result_does_not_depend_on_its_batch(self):
        rng = np.random.default_rng(7)
        target = [2, 40, 41, 42, 43, 3]
        alone = np.array(self.encode_ids([target]).embeddings[0].pooled)
        others = [[2] + rng.integers(5, 300, n).tolist() + [3] for n in rng.integers(1, 60, 31)]
        mixed = self.encode_ids(others[:13] + [target] + others[13:])
        np.testing.assert_allclose(np.array(mixed.embeddings[13].pooled), alone, atol=1e-5)

    def test_bf16_compute_is_close_to_fp32(self):
        texts = ["the quick brown fox jumps over the lazy dog", "hello world"]
        fp32 = self.client.encode(texts, model="demo", token_embeddings=True)
        bf16 = self.client.encode(texts, model="demo", token_embeddings=True,
                                  compute_dtype="bf16")
        for a, b in zip(fp32["token_embeddings"], bf16["token_embeddings"]):
            cos = np.sum(normalize(a) * normalize(b), axis=-1)
            self.assertGreaterEqual(cos.min(), 0.999)

    def test_multi_head_attend_matches_torch(self):
        e = self.expected
        response = self.client.attention.MultiHeadAttend(pb.MultiHeadAttendRequest(
            model="tiny", layer=1, hidden=to_tensor(e["mha_self.hidden"]), lengths=[5, 3],
            return_weights=True), timeout=60)
        np.testing.assert_allclose(from_tensor(response.output), e["mha_self.output"], atol=TOL)
        np.testing.assert_allclose(from_tensor(response.weights), e["mha_self.weights"],
                                   atol=TOL)
        response = self.client.attention.MultiHeadAttend(pb.MultiHeadAttendRequest(
            model="tiny", layer=0, hidden=to_tensor(e["mha_cross.hidden"]),
            context=to_tensor(e["mha_cross.context"]), lengths=[6, 2], return_weights=True),
            timeout=60)
        np.testing.assert_allclose(from_tensor(response.output), e["mha_cross.output"],
                                   atol=TOL)
        np.testing.assert_allclose(from_tensor(response.weights), e["mha_cross.weights"],
                                   atol=TOL)

    def test_encode_stream_answers_in_order(self):
        requests = [pb.EncodeRequest(model="tiny", token_ids=[pb.TokenIds(ids=ids)])
                    for _, ids in self.sequences] * 3
        responses = list(self.client.encoder.EncodeStream(iter(requests), timeout=60))
        self.assertEqual(len(responses), len(requests))
        for request, response in zip(requests, responses):
            self.assertEqual(response.embeddings[0].num_tokens, len(request.token_ids[0].ids))
            alone = self.client.encoder.Encode(request, timeout=60)
            np.testing.assert_allclose(response.embeddings[0].pooled, alone.embeddings[0].pooled,
                                       atol=1e-6)

    def test_tokenize_offsets(self):
        text = "Héllo, wörld!"
        tokens = self.client.tokenize([text], model="demo")[0]
        raw = text.encode()
        self.assertTrue(tokens[0][4] and tokens[-1][4])  # [CLS] ... [SEP]
        self.assertEqual((tokens[0][2], tokens[0][3]), (0, 0))
        pieces = [t for t in tokens if not t[4]]
        self.assertEqual(raw[pieces[0][2]:pieces[0][3]].decode(), "Héllo")
        self.assertEqual([t[1] for t in pieces][:2], ["hello", ","])

    def test_empty_text_is_the_special_tokens_alone(self):
        # As sentence-transformers and HF tokenizers: "" -> [CLS] [SEP], in Encode,
        # EncodeStream and Tokenize alike.
        tokens = self.client.tokenize(["", "a"], model="tiny")
        self.assertEqual([(t[1], t[4]) for t in tokens[0]], [("[CLS]", True), ("[SEP]", True)])
        cls_sep = [t[0] for t in tokens[0]]
        request = pb.EncodeRequest(model="tiny", texts=["a", "", "b"])
        response = self.client.encoder.Encode(request, timeout=60)
        self.assertEqual([e.num_tokens for e in response.embeddings], [3, 2, 3])
        self.assertEqual(response.total_tokens, 8)
        alone = self.encode_ids([cls_sep]).embeddings[0].pooled
        np.testing.assert_allclose(response.embeddings[1].pooled, alone, atol=1e-6)
        self.assertTrue(np.all(np.isfinite(response.embeddings[1].pooled)))
        streamed = list(self.client.encoder.EncodeStream(
            iter([pb.EncodeRequest(model="tiny", texts=[""])] * 2), timeout=60))
        self.assertEqual([r.embeddings[0].num_tokens for r in streamed], [2, 2])
        np.testing.assert_allclose(streamed[1].embeddings[0].pooled, alone, atol=1e-6)

    def test_truncate_and_length_limit(self):
        long_ids = [2] + [40] * 70 + [3]  # 72 tokens > max length 64
        with self.assertRaises(grpc.RpcError) as error:
            self.encode_ids([long_ids])
        self.assertEqual(error.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("token_ids[0]", error.exception.details())
        exact = self.encode_ids([[2] + [40] * 62 + [3]])  # exactly 64 is accepted
        self.assertEqual(exact.embeddings[0].num_tokens, 64)
        cut = self.encode_ids([long_ids], truncate=True)
        self.assertEqual(cut.embeddings[0].num_tokens, 64)
        text = "word " * 600
        with self.assertRaises(grpc.RpcError) as error:
            self.client.encode(["ok", text], model="demo")
        self.assertIn("texts[1]", error.exception.details())
        self.assertEqual(self.client.encode([text], model="demo", truncate=True)["num_tokens"],
                         [512])

    def test_bad_requests_name_the_field(self):
        cases = [
            (pb.EncodeRequest(model="nope", texts=["x"]), grpc.StatusCode.NOT_FOUND, "nope"),
            (pb.EncodeRequest(model="demo"), grpc.StatusCode.INVALID_ARGUMENT, "texts"),
            (pb.EncodeRequest(model="demo", token_ids=[pb.TokenIds(ids=[2, 3]), pb.TokenIds()]),
             grpc.StatusCode.INVALID_ARGUMENT, "token_ids[1]"),
            (pb.EncodeRequest(model="tiny", token_ids=[pb.TokenIds(ids=[2, 999, 3])]),
             grpc.StatusCode.INVALID_ARGUMENT, "token_ids[0].ids[1]"),
            (pb.EncodeRequest(model="demo", texts=["a"], attention_layers=[2]),
             grpc.StatusCode.INVALID_ARGUMENT, "attention_layers[0]"),
            (pb.EncodeRequest(model="demo", texts=["a"], compute_dtype=pb.FP16),
             grpc.StatusCode.INVALID_ARGUMENT, "compute_dtype"),
            (pb.EncodeRequest(model="demo", texts=["a"], pooling=9),
             grpc.StatusCode.INVALID_ARGUMENT, "pooling"),
            (pb.EncodeRequest(model="demo", texts=["a"],
                              attention=pb.AttentionSpec(weighting=pb.AttentionSpec.HARD)),
             grpc.StatusCode.INVALID_ARGUMENT, "attention.top_k"),
        ]
        for request, code, field in cases:
            with self.assertRaises(grpc.RpcError, msg=field) as error:
                self.client.encoder.Encode(request, timeout=30)
            self.assertEqual(error.exception.code(), code, field)
            self.assertIn(field, error.exception.details())
        with self.assertRaises(grpc.RpcError) as error:
            self.client.attention.MultiHeadAttend(pb.MultiHeadAttendRequest(
                model="tiny", layer=5, hidden=to_tensor(np.zeros((1, 2, 32)))), timeout=30)
        self.assertEqual(error.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("layer", error.exception.details())
        # Still serving.
        self.assertEqual(len(self.client.encode(["fine"], model="demo")["pooled"]), 1)

    def test_local_attention_override(self):
        text = ["the quick brown fox jumps over the lazy dog " * 4]
        wide = self.client.encoder.Encode(pb.EncodeRequest(
            model="demo", texts=text, attention=pb.AttentionSpec(
                scope=pb.AttentionSpec.LOCAL, window_left=1000, window_right=1000)), timeout=30)
        plain = self.client.encode(text, model="demo")
        # A window covering the sequence is global attention.
        np.testing.assert_allclose(wide.embeddings[0].pooled, plain["pooled"][0], atol=1e-5)
        narrow = self.client.encoder.Encode(pb.EncodeRequest(
            model="demo", texts=text, attention=pb.AttentionSpec(
                scope=pb.AttentionSpec.LOCAL, window_left=2, window_right=2,
                global_positions=[0])), timeout=30)
        self.assertGreater(np.abs(np.array(narrow.embeddings[0].pooled) - plain["pooled"][0]).max(),
                           1e-4)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
