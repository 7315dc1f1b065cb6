#!/usr/bin/python3
"""The Open Inference Protocol (KServe v2 gRPC) end to end: a client written from
proto/kserve/v2/grpc_predict_v2.proto (stubs generated with protoc into a temporary
directory) calls every RPC of inference.GRPCInferenceService on the real attnserve, and
compares each result with attnserve.v1 Encode, Rerank, Classify and Attend on the same
inputs (identical: both run the same code on the same batch composition).

  /usr/bin/python3 tests/e2e/kserve_v2_python_test.py BUILD_DIR SOURCE_DIR
"""
import concurrent.futures
import json
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

BUILD_DIR = pathlib.Path(sys.argv[1])
SOURCE_DIR = pathlib.Path(sys.argv[2])
GOLDEN = SOURCE_DIR / "tests" / "golden"
_TMP = tempfile.TemporaryDirectory()
TMP = pathlib.Path(_TMP.name)
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import gen_stubs  # noqa: E402  (attnserve.v1 and grpc.health.v1 stubs)

STUBS = TMP / "stubs"
gen_stubs.generate(STUBS)
subprocess.run(["protoc", f"-I{SOURCE_DIR / 'proto'}", f"--python_out={STUBS}",
                f"--grpc_out={STUBS}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                str(SOURCE_DIR / "proto" / "kserve" / "v2" / "grpc_predict_v2.proto")],
               check=True)
sys.path.insert(0, str(STUBS))
import grpc  # noqa: E402
from attnserve.v1 import attnserve_pb2 as v1  # noqa: E402
from attnserve.v1 import attnserve_pb2_grpc as v1_grpc  # noqa: E402
from attnserve_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from attnserve_process import AttnServe, metric, scrape  # noqa: E402
from kserve.v2 import grpc_predict_v2_pb2 as v2  # noqa: E402
from kserve.v2 import grpc_predict_v2_pb2_grpc as v2_grpc  # noqa: E402

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
MAX_QUEUE = 64
TEXTS = ["The cat sat on the mat.", "", "Ünïcödé and emoji 🙂 in one text",
         "a b c d e f g h i j k l m n o p"]
DOCS = ["Paris is the capital of France.", "Bananas are yellow.",
        "France's capital city is Paris, on the Seine."]


def raw_bytes(items):
    """BYTES elements in raw form, as Triton encodes them: a 4-byte little-endian
    length before each element."""
    return b"".join(struct.pack("<I", len(b)) + b for b in (s.encode() for s in items))


def parse_raw_bytes(raw):
    items = []
    while raw:
        (n,) = struct.unpack("<I", raw[:4])
        items.append(raw[4:4 + n].decode())
        raw = raw[4 + n:]
    return items


def bytes_input(name, items, shape=None):
    return v2.ModelInferRequest.InferInputTensor(
        name=name, datatype="BYTES", shape=shape or [len(items)],
        contents=v2.InferTensorContents(bytes_contents=[s.encode() for s in items]))


def fp32_input(name, array, raw=False):
    """(the input, its raw contents or None)."""
    array = np.ascontiguousarray(array, dtype="<f4")
    tensor = v2.ModelInferRequest.InferInputTensor(name=name, datatype="FP32",
                                                   shape=list(array.shape))
    if raw:
        return tensor, array.tobytes()
    tensor.contents.fp32_contents.extend(array.ravel().tolist())
    return tensor, None


def parameters(**values):
    out = {}
    for key, value in values.items():
        if isinstance(value, bool):
            out[key] = v2.InferParameter(bool_param=value)
        elif isinstance(value, int):
            out[key] = v2.InferParameter(int64_param=value)
        else:
            out[key] = v2.InferParameter(string_param=str(value))
    return out


def outputs_of(response):
    """{name: numpy array (FP32) or list of str (BYTES)}, from contents or raw."""
    result = {}
    raw = list(response.raw_output_contents)
    if raw:
        assert len(raw) == len(response.outputs)
    for i, out in enumerate(response.outputs):
        shape = tuple(out.shape)
        if out.datatype == "FP32":
            data = (np.frombuffer(raw[i], dtype="<f4") if raw
                    else np.array(out.contents.fp32_contents, dtype=np.float32))
            result[out.name] = data.reshape(shape)
        elif out.datatype == "BYTES":
            items = (parse_raw_bytes(raw[i]) if raw
                     else [b.decode() for b in out.contents.bytes_contents])
            assert len(items) == int(np.prod(shape))
            result[out.name] = items
        else:
            raise AssertionError(f"unexpected datatype {out.datatype}")
    return result


def v1_tensor(array):
    array = np.ascontiguousarray(array, dtype="<f4")
    return v1.Tensor(shape=list(array.shape), dtype=v1.FP32, raw=array.tobytes())


def from_v1_tensor(tensor):
    return np.frombuffer(tensor.raw, dtype="<f4").reshape(tuple(tensor.shape))


def prompted_model_dir():
    """tiny_bert with sentence-transformers prompts (as tasks_python_test makes it)."""
    d = TMP / "prompted"
    shutil.copytree(GOLDEN / "tiny_bert", d)
    (d / "config_sentence_transformers.json").write_text(json.dumps({
        "__version__": {"sentence_transformers": "3.0.1"},
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None, "similarity_fn_name": "cosine"}))
    return d


class KServeV2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        args = ["--model", f"tiny={GOLDEN / 'tiny_bert'}",
                "--model", f"prompted={prompted_model_dir()}",
                "--model", f"rerank={GOLDEN / 'tasks' / 'bert_rerank'}",
                "--model", f"nli={GOLDEN / 'tasks' / 'xlmr_nli'}",
                "--max_queue_size", str(MAX_QUEUE)]
        cls.server = AttnServe(BUILD_DIR, args, metrics=True)
        cls.channel = grpc.insecure_channel(cls.server.address)
        grpc.channel_ready_future(cls.channel).result(timeout=30)
        cls.v2 = v2_grpc.GRPCInferenceServiceStub(cls.channel)
        cls.encoder = v1_grpc.EncoderServiceStub(cls.channel)
        cls.attention = v1_grpc.AttentionServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        assert cls.server.stop() == 0, "attnserve did not exit 0 on SIGTERM"

    def infer(self, model, inputs, raw=None, outputs=(), **params):
        """ModelInfer; `inputs` are tensors, `raw` their raw contents (or None)."""
        request = v2.ModelInferRequest(
            model_name=model, id="call-7", inputs=inputs, parameters=parameters(**params),
            outputs=[v2.ModelInferRequest.InferRequestedOutputTensor(name=n)
                     for n in outputs])
        if raw is not None:
            for tensor in request.inputs:
                tensor.ClearField("contents")
            request.raw_input_contents.extend(raw)
        response = self.v2.ModelInfer(request, timeout=60)
        self.assertEqual(response.id, "call-7")
        self.assertEqual(response.model_version, "1")
        self.assertEqual(bool(response.raw_output_contents), raw is not None)
        return response

    def assert_error(self, code, texts, call, request):
        with self.assertRaises(grpc.RpcError) as raised:
            call(request, timeout=60)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        for text in texts:
            self.assertIn(text, raised.exception.details())
        return raised.exception.details()

    # --------------------------------------------------------- health and metadata
    def test_server_live_ready_metadata_and_health(self):
        self.assertTrue(self.v2.ServerLive(v2.ServerLiveRequest(), timeout=10).live)
        self.assertTrue(self.v2.ServerReady(v2.ServerReadyRequest(), timeout=10).ready)
        metadata = self.v2.ServerMetadata(v2.ServerMetadataRequest(), timeout=10)
        self.assertEqual(metadata.name, "attnserve")
        project = (SOURCE_DIR / "CMakeLists.txt").read_text()
        self.assertIn(f"project(attnserve VERSION {metadata.version} ", project)
        health = health_pb2_grpc.HealthStub(self.channel)
        status = health.Check(health_pb2.HealthCheckRequest(
            service="inference.GRPCInferenceService"), timeout=10).status
        self.assertEqual(status, health_pb2.HealthCheckResponse.SERVING)

    def test_model_ready(self):
        for name in ("tiny", "prompted", "rerank", "nli", "attention", ""):
            for version in ("", "1"):
                self.assertTrue(self.v2.ModelReady(
                    v2.ModelReadyRequest(name=name, version=version), timeout=10).ready, name)
        self.assert_error(NOT_FOUND, ["nope"], self.v2.ModelReady,
                          v2.ModelReadyRequest(name="nope"))
        self.assert_error(NOT_FOUND, ["tiny", "\"2\""], self.v2.ModelReady,
                          v2.ModelReadyRequest(name="tiny", version="2"))

    def test_model_metadata_describes_inputs_and_outputs(self):
        models = {m.name: m for m in self.encoder.ListModels(v1.ListModelsRequest()).models}

        def signature(name):
            m = self.v2.ModelMetadata(v2.ModelMetadataRequest(name=name), timeout=10)
            self.assertEqual(list(m.versions), ["1"])
            self.assertEqual(m.platform, "attnserve")
            return ([(t.name, t.datatype, list(t.shape)) for t in m.inputs],
                    [(t.name, t.datatype, list(t.shape)) for t in m.outputs], m.name)

        hidden = models["tiny"].hidden_size
        self.assertEqual(signature("tiny"), ([("text", "BYTES", [-1])],
                                             [("embedding", "FP32", [-1, hidden])], "tiny"))
        self.assertEqual(signature("")[2], "tiny")  # the default model
        self.assertEqual(signature("rerank")[:2], (
            [("query", "BYTES", [1]), ("text", "BYTES", [-1])], [("score", "FP32", [-1])]))
        labels = len(models["nli"].labels)
        self.assertEqual(signature("nli")[:2], (
            [("text", "BYTES", [-1]), ("text_pair", "BYTES", [-1])],
            [("scores", "FP32", [-1, labels]), ("label", "BYTES", [-1])]))
        any4 = [-1, -1, -1, -1]
        self.assertEqual(signature("attention")[:2], (
            [("query", "FP32", any4), ("key", "FP32", any4), ("value", "FP32", any4),
             ("mask", "FP32", any4), ("key_lengths", "INT32", [-1])],
            [("output", "FP32", any4), ("weights", "FP32", any4)]))
        self.assert_error(NOT_FOUND, ["nope"], self.v2.ModelMetadata,
                          v2.ModelMetadataRequest(name="nope"))

    # ------------------------------------------------------------------ embeddings
    def test_embeddings_equal_v1_encode(self):
        cases = [("tiny", {}), ("tiny", {"pooling": "mean", "normalize": True}),
                 ("tiny", {"pooling": "max"}), ("tiny", {"pooling": "last", "truncate": True}),
                 ("prompted", {"prompt_name": "query"}), ("tiny", {"compute_dtype": "BF16"})]
        pooling = {"cls": v1.CLS, "mean": v1.MEAN, "max": v1.MAX, "last": v1.LAST}
        for model, params in cases:
            for raw in (False, True):
                with self.subTest(model=model, params=params, raw=raw):
                    response = self.infer(
                        model, [bytes_input("text", TEXTS)],
                        [raw_bytes(TEXTS)] if raw else None, **params)
                    self.assertEqual(response.model_name, model)
                    got = outputs_of(response)
                    self.assertEqual(list(got), ["embedding"])
                    want = self.encoder.Encode(v1.EncodeRequest(
                        model=model, texts=TEXTS,
                        pooling=pooling.get(params.get("pooling"), v1.POOLING_UNSPECIFIED),
                        normalize=params.get("normalize", False),
                        truncate=params.get("truncate", False),
                        prompt_name=params.get("prompt_name", ""),
                        compute_dtype=v1.BF16 if "compute_dtype" in params else v1.FP32),
                        timeout=60)
                    want = np.array([e.pooled for e in want.embeddings], dtype=np.float32)
                    self.assertEqual(got["embedding"].shape, want.shape)
                    np.testing.assert_array_equal(got["embedding"], want)

    def test_embedding_errors_have_v1_codes(self):
        text = bytes_input("text", ["hello"])
        long_text = bytes_input("text", ["word " * 2000])
        cases = [
            (INVALID, ["input text is missing"], dict(inputs=[])),
            (INVALID, ["input texts is not an input of tiny"],
             dict(inputs=[bytes_input("texts", ["a"])])),
            (INVALID, ["input text", "datatype is \"FP32\""],
             dict(inputs=[fp32_input("text", [1.0])[0]])),
            (INVALID, ["input text", "shape is [1, 1]"],
             dict(inputs=[bytes_input("text", ["a"], shape=[1, 1])])),
            (INVALID, ["input text", "bytes_contents has 1 elements, expected 2"],
             dict(inputs=[bytes_input("text", ["a"], shape=[2])])),
            (INVALID, ["parameter pooling is \"avg\""],
             dict(inputs=[text], parameters=parameters(pooling="avg"))),
            (INVALID, ["parameter normalize is a string"],
             dict(inputs=[text], parameters=parameters(normalize="yes"))),
            (INVALID, ["parameter top_n is not a parameter of tiny"],
             dict(inputs=[text], parameters=parameters(top_n=3))),
            (INVALID, ["prompt", "nope"],
             dict(inputs=[text], parameters=parameters(prompt_name="nope"),
                  model_name="prompted")),
            (INVALID, ["text[0]", "tokens"], dict(inputs=[long_text])),
            (INVALID, ["output pooled is not an output of tiny"],
             dict(inputs=[text], outputs=[
                 v2.ModelInferRequest.InferRequestedOutputTensor(name="pooled")])),
            (NOT_FOUND, ["nope"], dict(inputs=[text], model_name="nope")),
            (NOT_FOUND, ["version"], dict(inputs=[text], model_version="3")),
            (grpc.StatusCode.RESOURCE_EXHAUSTED, ["--max_queue_size"],
             dict(inputs=[bytes_input("text", ["x"] * (MAX_QUEUE + 1))])),
        ]
        for code, texts, fields in cases:
            fields.setdefault("model_name", "tiny")
            with self.subTest(texts=texts):
                self.assert_error(code, texts, self.v2.ModelInfer,
                                  v2.ModelInferRequest(**fields))
        # Raw contents of the wrong length name the input.
        raw_cases = [(raw_bytes(["one"]), "holds 1 elements, expected 2"),
                     (raw_bytes(["hello", "world"])[:-1], "element 1 says 5 bytes but 4 remain"),
                     (b"\x01\x00", "inside the 4-byte length of element 0")]
        for raw, message in raw_cases:
            request = v2.ModelInferRequest(
                model_name="tiny",
                inputs=[v2.ModelInferRequest.InferInputTensor(name="text", datatype="BYTES",
                                                              shape=[2])],
                raw_input_contents=[raw])
            self.assert_error(INVALID, ["input text", message], self.v2.ModelInfer, request)
        request = v2.ModelInferRequest(model_name="tiny", inputs=[text],
                                       raw_input_contents=[raw_bytes(["hello"])])
        self.assert_error(INVALID, ["sets contents while the request sets raw_input_contents"],
                          self.v2.ModelInfer, request)
        # The same too-long text is the same error in attnserve.v1, which names its field
        # texts[0] where v2 names its input text[0].
        with self.assertRaises(grpc.RpcError) as v1_error:
            self.encoder.Encode(v1.EncodeRequest(model="tiny", texts=["word " * 2000]),
                                timeout=60)
        v2_error = self.assert_error(INVALID, [], self.v2.ModelInfer,
                                     v2.ModelInferRequest(model_name="tiny",
                                                          inputs=[long_text]))
        self.assertIn("texts[0]", v1_error.exception.details())
        self.assertEqual(v2_error, v1_error.exception.details().replace("texts[0]", "text[0]"))

    def test_a_request_that_does_not_parse_is_invalid_argument(self):
        # model_name (field 1, a proto3 string) that is not UTF-8.
        call = self.channel.unary_unary("/inference.GRPCInferenceService/ModelInfer",
                                        request_serializer=lambda b: b,
                                        response_deserializer=lambda b: b)
        self.assert_error(INVALID, ["not a valid protobuf message", "UTF-8"], call,
                          b"\x0a\x02\xff\xfe")

    # ------------------------------------------------------------ rerank, classify
    def test_rerank_scores_equal_v1_rerank(self):
        query = "What is the capital of France?"
        for raw in (False, True):
            for params in ({}, {"raw_scores": True}, {"truncate": True}):
                with self.subTest(raw=raw, params=params):
                    response = self.infer(
                        "rerank", [bytes_input("query", [query]), bytes_input("text", DOCS)],
                        [raw_bytes([query]), raw_bytes(DOCS)] if raw else None, **params)
                    got = outputs_of(response)
                    want = self.encoder.Rerank(v1.RerankRequest(
                        model="rerank", query=query, texts=DOCS,
                        raw_scores=params.get("raw_scores", False),
                        truncate=params.get("truncate", False)), timeout=60)
                    by_index = np.zeros(len(DOCS), dtype=np.float32)
                    for rank in want.ranks:
                        by_index[rank.index] = rank.score
                    np.testing.assert_array_equal(got["score"], by_index)
        for fields, texts in [
                (dict(inputs=[bytes_input("text", DOCS)]), ["input query is missing"]),
                (dict(inputs=[bytes_input("query", ["a", "b"]), bytes_input("text", DOCS)]),
                 ["input query", "expected [1]"]),
                (dict(inputs=[bytes_input("query", [""]), bytes_input("text", DOCS)]),
                 ["query is empty"]),
                (dict(inputs=[bytes_input("query", ["q"]),
                              bytes_input("text", ["word " * 2000])]),
                 ["text[0]", "truncate"])]:
            self.assert_error(INVALID, texts, self.v2.ModelInfer,
                              v2.ModelInferRequest(model_name="rerank", **fields))

    def test_classify_scores_and_labels_equal_v1_classify(self):
        premises = ["A man is playing a guitar.", "The sky is blue today."]
        hypotheses = ["Someone makes music.", "It is raining."]
        labels = list({m.name: m for m in self.encoder.ListModels(
            v1.ListModelsRequest()).models}["nli"].labels)
        for raw in (False, True):
            for pairs in (False, True):
                with self.subTest(raw=raw, pairs=pairs):
                    inputs = [bytes_input("text", premises)]
                    raws = [raw_bytes(premises)]
                    if pairs:
                        inputs.append(bytes_input("text_pair", hypotheses))
                        raws.append(raw_bytes(hypotheses))
                    got = outputs_of(self.infer("nli", inputs, raws if raw else None))
                    want = self.encoder.Classify(v1.ClassifyRequest(
                        model="nli", texts=premises, text_pairs=hypotheses if pairs else []),
                        timeout=60)
                    expected = np.zeros((len(premises), len(labels)), dtype=np.float32)
                    for i, result in enumerate(want.results):
                        for s in result.scores:
                            expected[i, labels.index(s.label)] = s.score
                    np.testing.assert_array_equal(got["scores"], expected)
                    self.assertEqual(got["label"], [r.scores[0].label for r in want.results])
        only_label = outputs_of(self.infer("nli", [bytes_input("text", premises)],
                                           outputs=["label"]))
        self.assertEqual(list(only_label), ["label"])

    # ------------------------------------------------------------------- attention
    def test_attention_equals_v1_attend(self):
        rng = np.random.default_rng(7)
        q = rng.standard_normal((2, 3, 5, 8))
        k = rng.standard_normal((2, 3, 6, 8))
        v = rng.standard_normal((2, 3, 6, 4))
        mask = rng.standard_normal((2, 1, 5, 6))
        cases = [
            ({}, {}, False),
            ({"return_weights": True}, {"return_weights": True}, False),
            ({"weighting": "HARD", "top_k": 2}, {"spec": v1.AttentionSpec(
                weighting=v1.AttentionSpec.HARD, top_k=2)}, False),
            ({"weighting": "HARD", "top_k": 3, "sample": True, "seed": 11},
             {"spec": v1.AttentionSpec(weighting=v1.AttentionSpec.HARD, top_k=3, sample=True,
                                       seed=11)}, False),
            ({"scope": "LOCAL", "window_left": 1, "window_right": 1, "global_positions": "0,4",
              "gaussian_sigma": "1.5", "causal": True, "scale": "0.25"},
             {"spec": v1.AttentionSpec(scope=v1.AttentionSpec.LOCAL, window_left=1,
                                       window_right=1, global_positions=[0, 4],
                                       gaussian_sigma=1.5, causal=True, scale=0.25)}, False),
            ({"compute_dtype": "BF16"}, {"compute_dtype": v1.BF16}, False),
            ({}, {}, True),  # mask and key_lengths
        ]
        for params, v1_fields, extras in cases:
            for raw in (False, True):
                with self.subTest(params=params, raw=raw):
                    tensors = [fp32_input(n, a, raw) for n, a in
                               (("query", q), ("key", k), ("value", v))]
                    if extras:
                        tensors.append(fp32_input("mask", mask, raw))
                        lengths = v2.ModelInferRequest.InferInputTensor(
                            name="key_lengths", datatype="INT32", shape=[2])
                        if raw:
                            tensors.append((lengths, np.array([6, 3], "<i4").tobytes()))
                        else:
                            lengths.contents.int_contents.extend([6, 3])
                            tensors.append((lengths, None))
                    response = self.infer("attention", [t for t, _ in tensors],
                                          [r for _, r in tensors] if raw else None, **params)
                    self.assertEqual(response.model_name, "attention")
                    got = outputs_of(response)
                    request = v1.AttendRequest(query=v1_tensor(q), key=v1_tensor(k),
                                               value=v1_tensor(v), **v1_fields)
                    if extras:
                        request.mask.CopyFrom(v1_tensor(mask))
                        request.key_lengths.extend([6, 3])
                    want = self.attention.Attend(request, timeout=60)
                    np.testing.assert_array_equal(got["output"], from_v1_tensor(want.output))
                    if params.get("return_weights"):
                        np.testing.assert_array_equal(got["weights"],
                                                      from_v1_tensor(want.weights))
                    else:
                        self.assertNotIn("weights", got)
        # Rank 3 is one head, as in v1; weights asked for by name.
        got = outputs_of(self.infer("attention", [fp32_input("query", q[:, 0])[0]],
                                    outputs=["output", "weights"]))
        want = self.attention.Attend(v1.AttendRequest(query=v1_tensor(q[:, 0]),
                                                      return_weights=True), timeout=60)
        self.assertEqual(got["output"].shape, (2, 5, 8))
        np.testing.assert_array_equal(got["output"], from_v1_tensor(want.output))
        np.testing.assert_array_equal(got["weights"], from_v1_tensor(want.weights))

    def test_attention_errors_have_v1_codes(self):
        q = np.ones((1, 4, 8))
        cases = [
            ([fp32_input("key", q)[0]], {}, None, ["input query is missing"]),
            ([fp32_input("query", q[0])[0]], {}, None, ["query.shape has rank 2"]),
            ([fp32_input("query", q)[0], fp32_input("key", np.ones((1, 4, 7)))[0]], {}, None,
             ["key"]),
            ([fp32_input("query", q)[0]], {"weighting": "HARD"}, None, ["top_k"]),
            ([fp32_input("query", q)[0]], {"weighting": "argmax"}, None,
             ["parameter weighting is \"argmax\""]),
            ([fp32_input("query", q)[0]], {"scale": "big"}, None, ["parameter scale"]),
            ([fp32_input("query", q)[0]], {"heads": 2}, None,
             ["parameter heads is not a parameter of attention"]),
            ([fp32_input("query", np.full((1, 4, 8), np.nan))[0]], {}, None, ["query"]),
            ([v2.ModelInferRequest.InferInputTensor(name="query", datatype="FP32",
                                                    shape=[1, 4, 8])], {},
             [np.ones(31, "<f4").tobytes()],
             ["input query", "raw_input_contents has 124 bytes, expected 128"]),
            ([v2.ModelInferRequest.InferInputTensor(name="query", datatype="INT64",
                                                    shape=[1, 4, 8])], {}, None,
             ["input query", "datatype is \"INT64\""]),
        ]
        for inputs, params, raw, texts in cases:
            with self.subTest(texts=texts):
                request = v2.ModelInferRequest(model_name="attention", inputs=inputs,
                                               parameters=parameters(**params))
                if raw:
                    request.raw_input_contents.extend(raw)
                self.assert_error(INVALID, texts, self.v2.ModelInfer, request)
        big = v2.ModelInferRequest(model_name="attention", inputs=[
            v2.ModelInferRequest.InferInputTensor(name="query", datatype="FP32",
                                                  shape=[1, 1, 1 << 14, 1])],
            raw_input_contents=[np.ones(1 << 14, "<f4").tobytes()],
            parameters=parameters(return_weights=True))
        self.assert_error(grpc.StatusCode.RESOURCE_EXHAUSTED, ["weights"],
                          self.v2.ModelInfer, big)

    # ---------------------------------------------- one scheduler, one set of metrics
    def test_v2_and_v1_calls_batch_together_and_are_counted(self):
        before = scrape(self.server.metrics_address)
        calls = 24
        with concurrent.futures.ThreadPoolExecutor(calls) as pool:
            futures = []
            for i in range(calls):
                text = f"call {i} about batching"
                if i % 2:
                    futures.append(pool.submit(self.v2.ModelInfer, v2.ModelInferRequest(
                        model_name="tiny", inputs=[bytes_input("text", [text])]), timeout=60))
                else:
                    futures.append(pool.submit(self.encoder.Encode, v1.EncodeRequest(
                        model="tiny", texts=[text]), timeout=60))
            for f in futures:
                f.result()
        after = scrape(self.server.metrics_address)

        def delta(name, **labels):
            return metric(after, name, **labels) - metric(before, name, **labels)

        method = "inference.GRPCInferenceService/ModelInfer"
        self.assertEqual(delta("attnserve_requests_total", method=method, code="OK"),
                         calls // 2)
        self.assertEqual(delta("attnserve_requests_total",
                               method="attnserve.v1.EncoderService/Encode", code="OK"),
                         calls // 2)
        self.assertGreaterEqual(delta("attnserve_request_duration_seconds_count",
                                      method=method), calls // 2)
        # Every call went through the model's one scheduler (BatchingWithV1Test shows a v1
        # and a v2 call in one batch).
        self.assertEqual(delta("attnserve_batch_size_sum", model="tiny"), calls)


class BatchingWithV1Test(unittest.TestCase):
    """With a long queue delay (the batch waits up to 2 s to fill) and batches of two,
    one v1 and one v2 call sent together are computed as one batch of two."""

    def test_one_batch_for_a_v1_and_a_v2_call(self):
        server = AttnServe(BUILD_DIR, ["--model", f"tiny={GOLDEN / 'tiny_bert'}",
                                       "--max_queue_delay_us", "2000000",
                                       "--max_batch_size", "2"], metrics=True)
        try:
            with grpc.insecure_channel(server.address) as channel:
                grpc.channel_ready_future(channel).result(timeout=30)
                inference = v2_grpc.GRPCInferenceServiceStub(channel)
                encoder = v1_grpc.EncoderServiceStub(channel)
                before = scrape(server.metrics_address)
                with concurrent.futures.ThreadPoolExecutor(2) as pool:
                    a = pool.submit(inference.ModelInfer, v2.ModelInferRequest(
                        model_name="tiny", inputs=[bytes_input("text", ["from v2"])]),
                        timeout=60)
                    b = pool.submit(encoder.Encode, v1.EncodeRequest(
                        model="tiny", texts=["from v1"]), timeout=60)
                    a.result()
                    b.result()
                after = scrape(server.metrics_address)
            count = (metric(after, "attnserve_batch_size_count", model="tiny")
                     - metric(before, "attnserve_batch_size_count", model="tiny"))
            total = (metric(after, "attnserve_batch_size_sum", model="tiny")
                     - metric(before, "attnserve_batch_size_sum", model="tiny"))
            self.assertEqual((count, total), (1, 2))
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
