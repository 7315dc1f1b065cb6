#!/usr/bin/python3
"""End to end over gRPC from Python: the tasks beyond embeddings (CONTRACT.md §9) against
the real attnserve serving the golden model directories of tests/golden/gen_tasks.py (one
per tokenizer type) and tiny_bert with sentence-transformers prompts.

  /usr/bin/python3 tests/e2e/tasks_python_test.py BUILD_DIR SOURCE_DIR
"""
import asyncio
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
GOLDEN = SOURCE_DIR / "tests" / "golden"
_TMP = tempfile.TemporaryDirectory()
TMP = pathlib.Path(_TMP.name)
sys.path.insert(0, str(SOURCE_DIR / "client" / "python"))
import gen_stubs  # noqa: E402  (the stubs, as building the package makes them)
sys.path.insert(0, str(gen_stubs.generate(str(TMP / "stubs"))))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import attnserve_client  # noqa: E402
import grpc  # noqa: E402
from attnserve_client import pb  # noqa: E402
from attnserve_process import AttnServe, metric, scrape  # noqa: E402

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PROMPTS = {"query": "query: ", "passage": "passage: "}
# model name -> (directory, tokenizer type, tokenizer of tokenizer_pipeline_golden.json)
MODELS = {
    "rerank": (GOLDEN / "tasks" / "bert_rerank", "WordPiece", None),
    "nli": (GOLDEN / "tasks" / "xlmr_nli", "Unigram", "xlmr-sentencepiece"),
    "modern": (GOLDEN / "tasks" / "modernbert_rerank", "BPE", "roberta-bpe"),
    "mlm": (GOLDEN / "tasks" / "bert_mlm", "WordPiece", "wordpiece"),
}


def clean_up_tokenization(text):
    """transformers' PreTrainedTokenizerBase.clean_up_tokenization."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                          (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"),
                          (" 're", "'re")):
        text = text.replace(before, after)
    return text


def plain_model_dir():
    """tiny_bert without its sentence-transformers modules: CLS pooling, no Normalize."""
    d = TMP / "plain"
    shutil.copytree(GOLDEN / "tiny_bert", d)
    (d / "modules.json").unlink()
    shutil.rmtree(d / "1_Pooling")
    return d


def prompted_model_dir():
    """tiny_bert with a config_sentence_transformers.json naming two prompts."""
    d = TMP / "prompted"
    shutil.copytree(GOLDEN / "tiny_bert", d)
    (d / "config_sentence_transformers.json").write_text(json.dumps({
        "__version__": {"sentence_transformers": "3.0.1"}, "prompts": PROMPTS,
        "default_prompt_name": None, "similarity_fn_name": "cosine"}))
    return d


class TasksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        args = ["--model", f"tiny={GOLDEN / 'tiny_bert'}",
                "--model", f"prompted={prompted_model_dir()}",
                "--model", f"plain={plain_model_dir()}", "--max_queue_size", "256"]
        for name, (directory, _, _) in MODELS.items():
            args += ["--model", f"{name}={directory}"]
        for name in ("roberta", "mpnet", "modernbert"):  # *ForMaskedLM with their heads
            args += ["--model", f"mlm_{name}={GOLDEN / 'models' / name}"]
        cls.server = AttnServe(BUILD_DIR, args, metrics=True)
        cls.client = attnserve_client.Client(cls.server.address, timeout=60)
        cls.golden = json.loads((GOLDEN / "tokenizer_pipeline_golden.json").read_text())

    @classmethod
    def tearDownClass(cls):
        cls.client.channel.close()
        cls.server.stop()

    def assert_error(self, code, text, call, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args, **kwargs)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        self.assertIn(text, raised.exception.details())
        return raised.exception.details()

    # ------------------------------------------------------------------ ModelInfo
    def test_list_models_says_tasks_prompts_and_tokenizer(self):
        models = {m.name: m for m in self.client.models().models}
        self.assertEqual(list(models["prompted"].prompt_names), ["query", "passage"])
        self.assertEqual(list(models["tiny"].prompt_names), [])
        self.assertEqual(models["tiny"].tokenizer, "WordPiece")
        self.assertEqual(list(models["tiny"].tasks), ["embed"])
        tasks = {"rerank": ["rerank"], "nli": ["classify"], "modern": ["rerank"],
                 "mlm": ["embed", "sparse"]}
        for name, (_, tokenizer, _) in MODELS.items():
            self.assertEqual(models[name].tokenizer, tokenizer, name)
            self.assertEqual(list(models[name].tasks), tasks[name], name)
        self.assertEqual(list(models["rerank"].labels), ["LABEL_0"])
        self.assertEqual(list(models["tiny"].labels), [])
        pairs = json.loads((GOLDEN / "tasks" / "pairs.json").read_text())
        for name in ("rerank", "nli", "modern"):
            self.assertEqual(models[name].max_length,
                             pairs["models"][MODELS[name][0].name]["max_length"], name)

    # ----------------------------------------------------------------- Detokenize
    def test_detokenize_matches_hf_decode_for_every_tokenizer_type(self):
        """The ids of the npm `tokenizers` golden encodings decode to HF's decode, with
        transformers' clean-up (the configs do not set clean_up_tokenization_spaces, the
        default is true)."""
        checked = 0
        for name, (_, _, golden_name) in MODELS.items():
            if golden_name is None:
                continue
            singles = self.golden["tokenizers"][golden_name]["singles"]
            ids = [s["ids"] for s in singles]
            for skip, key in ((False, "decoded"), (True, "decoded_skip_special")):
                got = self.client.detokenize(ids, model=name, skip_special_tokens=skip)
                want = [clean_up_tokenization(s[key]) for s in singles]
                mismatches = [(s["text"], g, w) for s, g, w in zip(singles, got, want)
                              if g != w]
                self.assertEqual(mismatches, [], f"{name} skip_special_tokens={skip}")
                checked += len(ids)
        self.assertGreater(checked, 500)

    def test_detokenize_wordpiece_glues_pieces_and_respects_the_config(self):
        """HF's WordPiece decoder (pieces joined by spaces, "##" pieces glued) then
        transformers' clean-up (bert-mini-uncased's tokenizer_config.json sets it)."""
        text = "Hello, world! Don't tokenize unbelievably long words."
        tokens = self.client.tokenize([text], model="rerank")[0]
        ids = [t[0] for t in tokens]
        pieces = [t[1] for t in tokens]
        self.assertTrue(any(p.startswith("##") for p in pieces), pieces)
        joined = " ".join(pieces).replace(" ##", "")
        self.assertEqual(self.client.detokenize([ids], model="rerank"),
                         [clean_up_tokenization(joined)])
        content = " ".join(p for t, p in zip(tokens, pieces) if not t[4]).replace(" ##", "")
        self.assertEqual(self.client.detokenize([ids], model="rerank",
                                                skip_special_tokens=True),
                         [clean_up_tokenization(content)])
        self.assertEqual(self.client.detokenize([[]], model="rerank"), [""])

    def test_detokenize_errors(self):
        vocab = self.client.models().models[0].vocab_size
        self.assert_error(INVALID, "token_ids[1].ids[2]", self.client.detokenize,
                          [[2], [2, 5, vocab]], model="tiny")
        self.assert_error(INVALID, "token_ids[0].ids[0]", self.client.detokenize, [[-1]],
                          model="tiny")
        self.assert_error(INVALID, "token_ids", self.client.detokenize, [], model="tiny")
        self.assert_error(grpc.StatusCode.NOT_FOUND, "nope", self.client.detokenize, [[1]],
                          model="nope")

    # -------------------------------------------------------------------- prompts
    def test_prompt_is_prepended_pooled_and_counted(self):
        texts = ["the world is big", ""]
        for prompt_name, prompt in PROMPTS.items():
            got = self.client.encoder.Encode(pb.EncodeRequest(
                model="prompted", texts=texts, prompt_name=prompt_name))
            want = self.client.encoder.Encode(pb.EncodeRequest(
                model="prompted", texts=[prompt + t for t in texts]))
            self.assertEqual(got.total_tokens, want.total_tokens)
            for g, w in zip(got.embeddings, want.embeddings):
                self.assertEqual(g.num_tokens, w.num_tokens)
                np.testing.assert_array_equal(g.pooled, w.pooled)
        # No prompt named and no default_prompt_name: the text as given.
        plain = self.client.encode(["the world"], model="prompted")
        self.assertEqual(plain["num_tokens"], [4])

    def test_prompt_errors_list_the_names(self):
        details = self.assert_error(INVALID, "prompt_name", self.client.encode, ["a"],
                                    model="prompted", prompt_name="document")
        self.assertIn("query, passage", details)
        self.assert_error(INVALID, "has no prompts", self.client.encode, ["a"],
                          model="tiny", prompt_name="query")
        self.assert_error(INVALID, "prompt_name", self.client.encoder.Encode,
                          pb.EncodeRequest(model="prompted", prompt_name="query",
                                           token_ids=[pb.TokenIds(ids=[2, 3])]))

    # -------------------------------------------------------------------- pooling
    def test_last_pooling_is_the_last_token(self):
        got = self.client.encode(["the world is big", "a"], model="plain", pooling="last",
                                 token_embeddings=True)
        for pooled, tokens in zip(got["pooled"], got["token_embeddings"]):
            np.testing.assert_array_equal(pooled, tokens[-1])
        models = {m.name: m for m in self.client.models().models}
        self.assertEqual(models["tiny"].default_pooling, pb.MEAN)

    # ------------------------------------------------------------ rerank / classify
    def expected(self, model):
        """(pairs.json entry, expected.json) of a golden classifier directory."""
        directory = MODELS[model][0]
        pairs = json.loads((GOLDEN / "tasks" / "pairs.json").read_text())
        return (pairs, pairs["models"][directory.name],
                json.loads((directory / "expected.json").read_text()))

    def test_rerank_matches_the_torch_cross_encoder(self):
        for model in ("rerank", "modern"):
            pairs, entry, expected = self.expected(model)
            texts = pairs["texts"]
            logits = [e[0] for e in expected["truncated"][:len(texts)]]
            scores = [1 / (1 + np.exp(-x)) for x in logits]
            want_order = sorted(range(len(texts)), key=lambda i: (-scores[i], i))
            got = self.client.encoder.Rerank(pb.RerankRequest(
                model=model, query=pairs["query"], texts=texts, truncate=True))
            self.assertEqual(got.model, model)
            self.assertEqual([r.index for r in got.ranks], want_order, model)
            for r in got.ranks:
                self.assertAlmostEqual(r.score, scores[r.index], delta=1e-5, msg=model)
                self.assertEqual(r.text, "")
            self.assertEqual(got.total_tokens, sum(
                len(e["ids"]) for e in entry["truncated"][:len(texts)]))
            # texts[0] and texts[4] are the same text: a tie, lower index first.
            order = [r.index for r in got.ranks]
            self.assertLess(order.index(0), order.index(4))
            raw = self.client.encoder.Rerank(pb.RerankRequest(
                model=model, query=pairs["query"], texts=texts, truncate=True,
                raw_scores=True, top_n=3, return_text=True))
            self.assertEqual([r.index for r in raw.ranks], want_order[:3])
            for r in raw.ranks:
                self.assertAlmostEqual(r.score, logits[r.index], delta=1e-5, msg=model)
                self.assertEqual(r.text, texts[r.index])
            everything = self.client.encoder.Rerank(pb.RerankRequest(
                model=model, query=pairs["query"], texts=texts, truncate=True, top_n=100))
            self.assertEqual(len(everything.ranks), len(texts))
            # Long pairs: LongestFirst over what HF tokenized of each segment (up to the
            # max length, tokenize_with_limit), as npm tokenizers cuts them.
            for (query, text), e in zip(pairs["long_pairs"],
                                        expected["truncated"][len(texts):]):
                got = self.client.encoder.Rerank(pb.RerankRequest(
                    model=model, query=query, texts=[text], truncate=True, raw_scores=True))
                self.assertAlmostEqual(got.ranks[0].score, e[0], delta=1e-5, msg=model)

    def test_rerank_batch_independence(self):
        pairs, _, expected = self.expected("rerank")
        alone = self.client.encoder.Rerank(pb.RerankRequest(
            model="rerank", query=pairs["query"], texts=[pairs["texts"][1]], raw_scores=True))
        others = [f"filler passage number {i} about the world" for i in range(63)]
        texts = others[:30] + [pairs["texts"][1]] + others[30:]
        among = self.client.encoder.Rerank(pb.RerankRequest(
            model="rerank", query=pairs["query"], texts=texts, raw_scores=True))
        score = {r.index: r.score for r in among.ranks}[30]
        self.assertAlmostEqual(score, alone.ranks[0].score, delta=1e-5)
        self.assertAlmostEqual(score, expected["truncated"][1][0], delta=1e-5)

    def test_classify_matches_the_torch_classifier(self):
        pairs, entry, expected = self.expected("nli")
        texts = pairs["texts"]
        got = self.client.encoder.Classify(pb.ClassifyRequest(
            model="nli", texts=[pairs["query"]] * len(texts), text_pairs=texts, truncate=True))
        labels = list({m.name: m for m in self.client.models().models}["nli"].labels)
        self.assertEqual(labels, ["entailment", "neutral", "contradiction"])
        self.assertEqual(got.total_tokens, sum(
            len(e["ids"]) for e in entry["truncated"][:len(texts)]))
        for result, logits in zip(got.results, expected["truncated"]):
            probs = np.exp(np.array(logits) - max(logits))
            probs /= probs.sum()
            want = sorted(range(3), key=lambda k: (-probs[k], k))
            self.assertEqual([s.label for s in result.scores], [labels[k] for k in want])
            for s, k in zip(result.scores, want):
                self.assertAlmostEqual(s.score, probs[k], delta=1e-5)
        raw = self.client.encoder.Classify(pb.ClassifyRequest(
            model="nli", texts=[pairs["query"]], text_pairs=[texts[0]], raw_scores=True))
        np.testing.assert_allclose([s.score for s in raw.results[0].scores],
                                   sorted(expected["truncated"][0], reverse=True), atol=1e-5)

    def test_task_errors(self):
        query = "what is it"
        self.assert_error(INVALID, "Rerank", self.client.encoder.Rerank,
                          pb.RerankRequest(model="tiny", query=query, texts=["a"]))
        self.assert_error(INVALID, "Encode", self.client.encode, ["a"], model="rerank")
        self.assert_error(INVALID, "Classify", self.client.encoder.Classify,
                          pb.ClassifyRequest(model="rerank", texts=["a"]))
        self.assert_error(INVALID, "query", self.client.encoder.Rerank,
                          pb.RerankRequest(model="rerank", texts=["a"]))
        self.assert_error(INVALID, "texts", self.client.encoder.Rerank,
                          pb.RerankRequest(model="rerank", query=query))
        self.assert_error(INVALID, "texts[1]", self.client.encoder.Rerank,
                          pb.RerankRequest(model="rerank", query=query,
                                           texts=["a", "long " * 100]))
        self.assert_error(INVALID, "text_pairs", self.client.encoder.Classify,
                          pb.ClassifyRequest(model="nli", texts=["a", "b"], text_pairs=["c"]))
        self.assert_error(INVALID, "texts", self.client.encoder.Classify,
                          pb.ClassifyRequest(model="nli"))
        self.assert_error(INVALID, "compute_dtype", self.client.encoder.Rerank,
                          pb.RerankRequest(model="rerank", query=query, texts=["a"],
                                           compute_dtype=pb.FP16))
        self.assert_error(grpc.StatusCode.NOT_FOUND, "nope", self.client.encoder.Rerank,
                          pb.RerankRequest(model="nope", query=query, texts=["a"]))

    def test_attnctl_rerank_classify_detokenize_models(self):
        def attnctl(*args):
            out = subprocess.run([str(BUILD_DIR / "bin" / "attnctl"), "--address",
                                  self.server.address, *args], capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            return json.loads(out.stdout)
        ranked = attnctl("--model", "rerank", "--top_n", "2", "--return_text", "rerank",
                         "capital of France", "Paris is the capital.", "Berlin.", "Rome.")
        want = self.client.encoder.Rerank(pb.RerankRequest(
            model="rerank", query="capital of France", top_n=2,
            texts=["Paris is the capital.", "Berlin.", "Rome."]))
        self.assertEqual([r["index"] for r in ranked["ranks"]], [r.index for r in want.ranks])
        self.assertEqual(ranked["ranks"][0]["text"],
                         ["Paris is the capital.", "Berlin.", "Rome."][want.ranks[0].index])
        classified = attnctl("--model", "nli", "--pairs", "classify", "A man eats.",
                             "Someone eats.")
        self.assertEqual(len(classified["results"][0]), 3)
        self.assertEqual(attnctl("--model", "tiny", "detokenize", "2", "3"), "[CLS] [SEP]")
        models = {m["name"]: m for m in attnctl("models")["models"]}
        self.assertEqual(models["prompted"]["prompt_names"], ["query", "passage"])
        self.assertEqual(models["nli"]["tasks"], ["classify"])
        self.assertEqual(models["modern"]["tokenizer"], "BPE")

    # ------------------------------------------------------------------- chunking
    def reference_chunks(self, model, text, max_tokens, overlap):
        """CONTRACT.md §9's windows, computed here from Tokenize's ids and offsets:
        (ids, start, end) per chunk."""
        tokens = self.client.tokenize([text], model=model)[0]
        content = [t for t in tokens if not t[4]]
        head = [t[0] for t in tokens[:1]]
        tail = [t[0] for t in tokens[-1:]]
        if len(tokens) <= max_tokens:
            return [([t[0] for t in tokens], content[0][2] if content else 0,
                     content[-1][3] if content else 0)]
        window = max_tokens - 2
        step = window - overlap
        chunks, begin = [], 0
        while True:
            part = content[begin:begin + window]
            chunks.append((head + [t[0] for t in part] + tail, part[0][2], part[-1][3]))
            if begin + window >= len(content):
                return chunks
            begin += step

    def test_chunking_matches_encoding_the_windows_separately(self):
        text = " ".join(f"the world {w} is big and" for w in ["time", "day", "water", "people"] * 6)
        for pooling, normalize, dtype in ((pb.MEAN, True, pb.FP32), (pb.CLS, False, pb.FP32),
                                          (pb.MAX, True, pb.BF16), (pb.LAST, False, pb.FP32)):
            for max_tokens, overlap in ((16, 3), (20, 0), (64, 10)):
                with self.subTest(pooling=pooling, max_tokens=max_tokens, dtype=dtype):
                    got = self.client.encoder.Encode(pb.EncodeRequest(
                        model="plain", texts=[text, "big one"], pooling=pooling,
                        normalize=normalize, compute_dtype=dtype,
                        chunking=pb.Chunking(max_tokens=max_tokens, overlap=overlap)))
                    want = self.reference_chunks("plain", text, max_tokens, overlap)
                    chunks = got.embeddings[0].chunks
                    self.assertEqual([(c.start, c.end) for c in chunks],
                                     [(s, e) for _, s, e in want])
                    separate = self.client.encoder.Encode(pb.EncodeRequest(
                        model="plain", token_ids=[pb.TokenIds(ids=ids) for ids, _, _ in want],
                        pooling=pooling, compute_dtype=dtype))
                    tol = 2e-2 if dtype == pb.BF16 else 1e-5
                    weights = np.array([len(ids) for ids, _, _ in want], np.float64)
                    vectors = np.array([list(e.pooled) for e in separate.embeddings])
                    for c, e, n in zip(chunks, vectors, weights):
                        self.assertEqual(c.num_tokens, n)
                        ref = e / np.linalg.norm(e) if normalize else e
                        np.testing.assert_allclose(c.pooled, ref, atol=tol, rtol=0)
                    mean = (vectors * weights[:, None]).sum(0) / weights.sum()
                    if normalize:
                        mean /= np.linalg.norm(mean)
                    np.testing.assert_allclose(got.embeddings[0].pooled, mean, atol=tol, rtol=0)
                    self.assertEqual(got.embeddings[0].num_tokens, weights.sum())
                    short = got.embeddings[1]
                    self.assertEqual(len(short.chunks), 1)
                    self.assertEqual((short.chunks[0].start, short.chunks[0].end), (0, 7))
                    self.assertEqual(got.total_tokens, weights.sum() + short.num_tokens)

    def test_chunking_never_refuses_a_long_text(self):
        text = "the world " * 3000  # 6,000 content tokens, the model takes 64
        got = self.client.encoder.Encode(pb.EncodeRequest(
            model="tiny", texts=[text], chunking=pb.Chunking()))
        chunks = got.embeddings[0].chunks
        self.assertEqual(len(chunks), int(np.ceil(6000 / 62)))
        self.assertEqual(chunks[-1].end, len(text) - 1)
        self.assertTrue(all(c.num_tokens <= 64 for c in chunks))

    def test_chunking_errors(self):
        self.assert_error(INVALID, "chunking.overlap", self.client.encoder.Encode,
                          pb.EncodeRequest(model="tiny", texts=["a"],
                                           chunking=pb.Chunking(max_tokens=10, overlap=8)))
        self.assert_error(INVALID, "chunking.max_tokens", self.client.encoder.Encode,
                          pb.EncodeRequest(model="tiny", texts=["a"],
                                           chunking=pb.Chunking(max_tokens=2)))
        self.assert_error(INVALID, "chunking.max_tokens", self.client.encoder.Encode,
                          pb.EncodeRequest(model="tiny", texts=["a"],
                                           chunking=pb.Chunking(max_tokens=65)))
        self.assert_error(INVALID, "chunking", self.client.encoder.Encode,
                          pb.EncodeRequest(model="tiny", token_ids=[pb.TokenIds(ids=[2, 3])],
                                           chunking=pb.Chunking()))
        self.assert_error(INVALID, "chunking", self.client.encoder.Encode,
                          pb.EncodeRequest(model="tiny", texts=["a"], chunking=pb.Chunking(),
                                           return_token_embeddings=True))

    # --------------------------------------------------------------------- SPLADE
    def test_splade_matches_the_torch_masked_lm(self):
        expected = json.loads((GOLDEN / "tasks" / "bert_mlm" / "expected.json").read_text())
        vocab = {m.name: m for m in self.client.models().models}["mlm"].vocab_size
        got = self.client.encoder.Encode(pb.EncodeRequest(
            model="mlm", pooling=pb.SPLADE,
            token_ids=[pb.TokenIds(ids=ids) for ids in expected["token_ids"]]))
        self.assertEqual(len(got.embeddings), len(expected["splade"]))
        for e, want in zip(got.embeddings, expected["splade"]):
            self.assertEqual(len(e.pooled), 0)
            indices = list(e.sparse.indices)
            self.assertEqual(indices, sorted(indices))
            self.assertTrue(all(v > 0 for v in e.sparse.values))
            dense_got, dense_want = np.zeros(vocab), np.zeros(vocab)
            dense_got[indices] = e.sparse.values
            dense_want[want["indices"]] = want["values"]
            np.testing.assert_allclose(dense_got, dense_want, atol=1e-5, rtol=0)
            # Ids whose value is clearly positive are present in both.
            clear = {i for i, v in zip(want["indices"], want["values"]) if v > 1e-4}
            self.assertLessEqual(clear, set(indices))
        # Texts too, and batch independence: one text alone == among others.
        texts = ["hello world", "the quick brown fox jumps over the lazy dog"]
        both = self.client.encoder.Encode(pb.EncodeRequest(model="mlm", texts=texts,
                                                           pooling=pb.SPLADE))
        alone = self.client.encoder.Encode(pb.EncodeRequest(model="mlm", texts=texts[1:],
                                                            pooling=pb.SPLADE))
        self.assertEqual(list(both.embeddings[1].sparse.indices),
                         list(alone.embeddings[0].sparse.indices))
        np.testing.assert_allclose(both.embeddings[1].sparse.values,
                                   alone.embeddings[0].sparse.values, atol=1e-6)
        self.assert_error(INVALID, "chunking", self.client.encoder.Encode, pb.EncodeRequest(
            model="mlm", texts=["a"], pooling=pb.SPLADE, chunking=pb.Chunking()))

    def test_splade_of_the_roberta_mpnet_and_modernbert_masked_lms(self):
        expected = json.loads((GOLDEN / "tasks" / "mlm_splade.json").read_text())
        models = {m.name: m for m in self.client.models().models}
        for name, want_all in expected.items():
            model = "mlm_" + name
            self.assertEqual(list(models[model].tasks), ["embed", "sparse"], model)
            vocab = models[model].vocab_size
            got = self.client.encoder.Encode(pb.EncodeRequest(
                model=model, pooling=pb.SPLADE,
                token_ids=[pb.TokenIds(ids=ids) for ids in want_all["token_ids"]]))
            self.assertEqual(len(got.embeddings), len(want_all["splade"]))
            for e, want in zip(got.embeddings, want_all["splade"]):
                dense_got, dense_want = np.zeros(vocab), np.zeros(vocab)
                dense_got[list(e.sparse.indices)] = e.sparse.values
                dense_want[want["indices"]] = want["values"]
                np.testing.assert_allclose(dense_got, dense_want, atol=1e-5, rtol=0,
                                           err_msg=model)
                self.assertGreater(len(want["indices"]), 10)

    def test_python_client_wrappers(self):
        ranks = self.client.rerank("capital of France", ["Paris.", "Berlin.", "Rome."],
                                   model="rerank", top_n=2, return_text=True)
        want = self.client.encoder.Rerank(pb.RerankRequest(
            model="rerank", query="capital of France", texts=["Paris.", "Berlin.", "Rome."]))
        self.assertEqual([(i, t) for i, _, t in ranks],
                         [(r.index, ["Paris.", "Berlin.", "Rome."][r.index])
                          for r in want.ranks[:2]])
        labels = self.client.classify(["A man eats."], ["Someone eats."], model="nli")
        self.assertEqual(sorted(l for l, _ in labels[0]),
                         ["contradiction", "entailment", "neutral"])
        self.assertAlmostEqual(sum(score for _, score in labels[0]), 1.0, places=5)
        sparse = self.client.encode(["hello world"], model="mlm", pooling="splade")["sparse"]
        self.assertTrue(sparse[0] and all(v > 0 for v in sparse[0].values()))
        chunked = self.client.encode(["the world " * 50], model="tiny", chunking=(16, 2))
        self.assertEqual(len(chunked["chunks"][0]), int(np.ceil((100 - 2) / 12)))

    def test_async_client_matches_the_blocking_one(self):
        texts = ["Paris.", "Berlin.", "Rome."]
        ids = [[2, 10, 11, 3], [2, 12, 3]]

        async def calls():
            async with attnserve_client.AsyncClient(self.server.address, timeout=60) as c:
                return await asyncio.gather(
                    c.rerank("capital of France", texts, model="rerank", top_n=2,
                             return_text=True),
                    c.rerank("capital of France", texts, model="modern", raw_scores=True),
                    c.classify(["A man eats."], ["Someone eats."], model="nli"),
                    c.classify(["A man eats."], model="nli", raw_scores=True),
                    c.detokenize(ids, model="mlm", skip_special_tokens=True),
                    c.encode(["hello world", "a b"], model="mlm", pooling="splade"),
                    c.encode(["the world " * 50], model="tiny", chunking=(16, 2),
                             normalize=True),
                    c.encode(["hello"], model="prompted", prompt_name="query"))

        got = asyncio.run(calls())
        blocking = self.client
        want = [
            blocking.rerank("capital of France", texts, model="rerank", top_n=2,
                            return_text=True),
            blocking.rerank("capital of France", texts, model="modern", raw_scores=True),
            blocking.classify(["A man eats."], ["Someone eats."], model="nli"),
            blocking.classify(["A man eats."], model="nli", raw_scores=True),
            blocking.detokenize(ids, model="mlm", skip_special_tokens=True),
            blocking.encode(["hello world", "a b"], model="mlm", pooling="splade"),
            blocking.encode(["the world " * 50], model="tiny", chunking=(16, 2),
                            normalize=True),
            blocking.encode(["hello"], model="prompted", prompt_name="query")]
        self.assertEqual(got[:5], want[:5])
        self.assertEqual([len(r) for r in got[0]], [3, 3])
        self.assertEqual(got[0][0][2], texts[got[0][0][0]])
        self.assertEqual(len(got[4]), 2)
        sparse, chunked, prompted = got[5:]
        self.assertEqual(sparse["sparse"], want[5]["sparse"])
        self.assertTrue(sparse["sparse"][1])
        self.assertEqual(len(chunked["chunks"][0]), int(np.ceil((100 - 2) / 12)))
        for a, b in zip(chunked["chunks"][0], want[6]["chunks"][0]):
            self.assertEqual((a["start"], a["end"], a["num_tokens"]),
                             (b["start"], b["end"], b["num_tokens"]))
            np.testing.assert_array_equal(a["pooled"], b["pooled"])
        np.testing.assert_array_equal(chunked["pooled"], want[6]["pooled"])
        # The prompt is there: "query: hello" has more tokens than "hello".
        self.assertEqual(prompted["num_tokens"], want[7]["num_tokens"])
        self.assertGreater(prompted["num_tokens"][0],
                           self.client.encode(["hello"], model="prompted")["num_tokens"][0])
        np.testing.assert_array_equal(prompted["pooled"], want[7]["pooled"])

    def test_tokens_total_counts_every_task(self):
        def tokens(model):
            return metric(scrape(self.server.metrics_address), "attnserve_tokens_total",
                          model=model)
        before = {m: tokens(m) for m in ("rerank", "nli", "mlm", "plain")}
        calls = {
            "rerank": self.client.encoder.Rerank(pb.RerankRequest(
                model="rerank", query="q", texts=["a b", "c"])).total_tokens,
            "nli": self.client.encoder.Classify(pb.ClassifyRequest(
                model="nli", texts=["a"], text_pairs=["b"])).total_tokens,
            "mlm": self.client.encoder.Encode(pb.EncodeRequest(
                model="mlm", texts=["a b c"], pooling=pb.SPLADE)).total_tokens,
            "plain": self.client.encoder.Encode(pb.EncodeRequest(
                model="plain", texts=["the world " * 40],
                chunking=pb.Chunking(max_tokens=16, overlap=4))).total_tokens,
        }
        for model, total in calls.items():
            self.assertGreater(total, 0)
            self.assertEqual(tokens(model) - before[model], total, model)

    def test_splade_needs_a_masked_lm_model(self):
        details = self.assert_error(INVALID, "SPLADE", self.client.encode, ["a"],
                                    model="tiny", pooling="splade")
        self.assertIn("tiny", details)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
