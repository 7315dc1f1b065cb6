"""A small Python client for attnserve: numpy in, numpy out.

    import attnserve_client
    client = attnserve_client.Client("127.0.0.1:50051")
    out, weights = client.attend(q, k, v, return_weights=True)
    embeddings = client.encode(["hello world"], normalize=True)["pooled"]

    async with attnserve_client.AsyncClient("dns:///attnserve-headless:50051") as client:
        embeddings = (await client.encode(["hello world"]))["pooled"]

Install: pip install ./client/python (see its pyproject.toml); the gRPC stubs
(attnserve.v1, attnserve_health.v1) are generated when the package is built and
installed beside it. Needs grpcio, protobuf and numpy (Debian: python3-grpcio,
python3-protobuf, python3-numpy).
"""
from __future__ import annotations

import json
from typing import Any, Optional, Sequence

import grpc
import numpy as np
from attnserve.v1 import attnserve_pb2 as pb
from attnserve.v1 import attnserve_pb2_grpc as pb_grpc
from attnserve_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["AsyncClient", "Client", "pb", "pb_grpc", "service_config", "to_tensor",
           "from_tensor"]

_POOLING = {None: pb.POOLING_UNSPECIFIED, "cls": pb.CLS, "mean": pb.MEAN, "max": pb.MAX,
            "last": pb.LAST, "splade": pb.SPLADE}
_DTYPE = {"fp32": pb.FP32, "bf16": pb.BF16}

# One token, several texts, and their embeddings and per-layer attention maps.
EncodeResult = dict[str, Any]
# Per text: (id, piece, start byte, end byte, special).
Tokens = list[list[tuple[int, str, int, int, bool]]]


def service_config(max_retries: int = 3, initial_backoff: float = 0.05) -> str:
    """The gRPC service config of attnserve's clients (as attnserve::ClientServiceConfig in
    C++): round_robin over every address of the target, client-side health checking
    (grpc.health.v1), and up to `max_retries` retries (at most 4) of calls that fail with
    UNAVAILABLE, with jittered exponential backoff from `initial_backoff` seconds."""
    method: dict[str, Any] = {"name": [{"service": "attnserve.v1.AttentionService"},
                                       {"service": "attnserve.v1.EncoderService"},
                                       {"service": "grpc.health.v1.Health"}]}
    if max_retries > 0:
        method["retryPolicy"] = {
            "maxAttempts": min(max_retries, 4) + 1, "initialBackoff": f"{initial_backoff}s",
            "maxBackoff": f"{16 * initial_backoff}s", "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"]}
    return json.dumps({"loadBalancingConfig": [{"round_robin": {}}],
                       "healthCheckConfig": {"serviceName": ""}, "methodConfig": [method]})


def to_tensor(array: Any) -> pb.Tensor:
    """numpy array -> attnserve.v1.Tensor (FP32, raw little-endian bytes)."""
    array = np.ascontiguousarray(array, dtype="<f4")
    return pb.Tensor(shape=list(array.shape), dtype=pb.FP32, raw=array.tobytes())


def from_tensor(tensor: pb.Tensor) -> np.ndarray:
    """attnserve.v1.Tensor -> float32 numpy array (values, or raw FP32 / BF16 / FP16)."""
    shape = tuple(tensor.shape)
    if tensor.values:
        return np.asarray(tensor.values, dtype=np.float32).reshape(shape)
    if tensor.dtype == pb.BF16:
        bits = np.frombuffer(tensor.raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    if tensor.dtype == pb.FP16:
        return np.frombuffer(tensor.raw, dtype="<f2").astype(np.float32).reshape(shape)
    return np.frombuffer(tensor.raw, dtype="<f4").reshape(shape).copy()


def _attend_request(query, key, value, mask, key_lengths, return_weights, compute_dtype,
                    spec) -> pb.AttendRequest:
    for name in ("weighting", "scope"):
        if isinstance(spec.get(name), str):
            enum = pb.AttentionSpec.Weighting if name == "weighting" else pb.AttentionSpec.Scope
            spec[name] = enum.Value(spec[name].upper())
    request = pb.AttendRequest(query=to_tensor(query), spec=pb.AttentionSpec(**spec),
                               key_lengths=list(key_lengths), return_weights=return_weights,
                               compute_dtype=_DTYPE[compute_dtype])
    if key is not None:
        request.key.CopyFrom(to_tensor(key))
    if value is not None:
        request.value.CopyFrom(to_tensor(value))
    if mask is not None:
        request.mask.CopyFrom(to_tensor(mask))
    return request


def _attend_result(response: pb.AttendResponse, return_weights: bool
                   ) -> tuple[np.ndarray, Optional[np.ndarray]]:
    weights = from_tensor(response.weights) if return_weights else None
    return from_tensor(response.output), weights


def _encode_request(texts, model, pooling, normalize, truncate, token_embeddings,
                    attention_layers, compute_dtype, prompt_name, chunking
                    ) -> pb.EncodeRequest:
    request = pb.EncodeRequest(
        model=model, texts=list(texts), pooling=_POOLING[pooling], normalize=normalize,
        truncate=truncate, return_token_embeddings=token_embeddings,
        attention_layers=list(attention_layers), compute_dtype=_DTYPE[compute_dtype],
        prompt_name=prompt_name)
    if chunking is not None:
        request.chunking.CopyFrom(pb.Chunking(max_tokens=chunking[0], overlap=chunking[1]))
    return request


def _encode_result(response: pb.EncodeResponse, token_embeddings: bool, pooling,
                   chunking) -> EncodeResult:
    return {
        "sparse": [dict(zip(e.sparse.indices, e.sparse.values))
                   for e in response.embeddings if pooling == "splade"],
        "chunks": [[{"pooled": np.array(c.pooled, dtype=np.float32), "start": c.start,
                     "end": c.end, "num_tokens": c.num_tokens} for c in e.chunks]
                   for e in response.embeddings if chunking is not None],
        "model": response.model,
        "pooled": np.array([list(e.pooled) for e in response.embeddings], dtype=np.float32),
        "num_tokens": [e.num_tokens for e in response.embeddings],
        "token_embeddings": [from_tensor(e.token_embeddings) for e in response.embeddings
                             if token_embeddings],
        "attention": [[from_tensor(a) for a in e.attention] for e in response.embeddings],
    }


def _rerank_request(query, texts, model, truncate, raw_scores, return_text, top_n,
                    compute_dtype) -> pb.RerankRequest:
    return pb.RerankRequest(
        model=model, query=query, texts=list(texts), truncate=truncate,
        raw_scores=raw_scores, return_text=return_text, top_n=top_n,
        compute_dtype=_DTYPE[compute_dtype])


def _ranks(response: pb.RerankResponse) -> list[tuple[int, float, str]]:
    return [(r.index, r.score, r.text) for r in response.ranks]


def _classify_request(texts, text_pairs, model, truncate, raw_scores, compute_dtype
                      ) -> pb.ClassifyRequest:
    return pb.ClassifyRequest(
        model=model, texts=list(texts), text_pairs=list(text_pairs), truncate=truncate,
        raw_scores=raw_scores, compute_dtype=_DTYPE[compute_dtype])


def _labels(response: pb.ClassifyResponse) -> list[list[tuple[str, float]]]:
    return [[(s.label, s.score) for s in r.scores] for r in response.results]


def _detokenize_request(token_ids, model, skip_special_tokens) -> pb.DetokenizeRequest:
    return pb.DetokenizeRequest(
        model=model, token_ids=[pb.TokenIds(ids=list(ids)) for ids in token_ids],
        skip_special_tokens=skip_special_tokens)


def _tokens(response: pb.TokenizeResponse) -> Tokens:
    return [[(t.id, t.text, t.start, t.end, t.special) for t in r.tokens]
            for r in response.results]


def _channel_options(max_retries: int) -> tuple[list, list]:
    """Options of the balanced channel, and of the health() channel: the same without
    health checking, so that it can see NOT_SERVING."""
    options = [("grpc.service_config", service_config(max_retries)),
               ("grpc.enable_retries", 1)]
    return options, options + [("grpc.inhibit_health_checking", 1)]


def _credentials(root_certificates, private_key, certificate_chain):
    if root_certificates or certificate_chain:
        return grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
    return None


class Client:
    """Calls attnserve: `address` is a gRPC target, one server ("host:port") or several
    replicas ("dns:///attnserve-headless:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051"),
    balanced by service_config(max_retries). `timeout` is seconds per call, retries
    included."""

    def __init__(self, address: str = "127.0.0.1:50051", timeout: float = 30.0,
                 root_certificates: Optional[bytes] = None,
                 private_key: Optional[bytes] = None,
                 certificate_chain: Optional[bytes] = None, max_retries: int = 3):
        options, health_options = _channel_options(max_retries)
        creds = _credentials(root_certificates, private_key, certificate_chain)
        if creds is not None:
            self.channel = grpc.secure_channel(address, creds, options)
            self.health_channel = grpc.secure_channel(address, creds, health_options)
        else:
            self.channel = grpc.insecure_channel(address, options)
            self.health_channel = grpc.insecure_channel(address, health_options)
        self.timeout = timeout
        self.attention = pb_grpc.AttentionServiceStub(self.channel)
        self.encoder = pb_grpc.EncoderServiceStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.health_channel)

    def close(self) -> None:
        self.channel.close()
        self.health_channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def attend(self, query: Any, key: Any = None, value: Any = None, *, mask: Any = None,
               key_lengths: Sequence[int] = (), return_weights: bool = False,
               compute_dtype: str = "fp32", **spec: Any
               ) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Attention over numpy arrays; spec keywords are AttentionSpec fields
        (weighting="HARD", top_k=2, scope="LOCAL", window_left=..., causal=True, ...).
        Returns (output, weights or None)."""
        request = _attend_request(query, key, value, mask, key_lengths, return_weights,
                                  compute_dtype, spec)
        return _attend_result(self.attention.Attend(request, timeout=self.timeout),
                              return_weights)

    def encode(self, texts, *, model="", pooling=None, normalize=False, truncate=False,
               token_embeddings=False, attention_layers=(), compute_dtype="fp32",
               prompt_name="", chunking=None):
        """Returns {"pooled": [n, hidden] array, "num_tokens": [...],
        "token_embeddings": [arrays] (if asked), "attention": [[arrays per layer]],
        "sparse": [{id: value}] (pooling="splade"), "chunks": [[{"pooled", "start", "end",
        "num_tokens"}]] (with chunking)}.
        prompt_name: a prompt of the model's config_sentence_transformers.json;
        chunking: (max_tokens, overlap) to split long texts (max_tokens 0: the model's)."""
        request = _encode_request(texts, model, pooling, normalize, truncate,
                                  token_embeddings, attention_layers, compute_dtype,
                                  prompt_name, chunking)
        return _encode_result(self.encoder.Encode(request, timeout=self.timeout),
                              token_embeddings, pooling, chunking)

    def tokenize(self, texts: Sequence[str], *, model: str = "",
                 add_special_tokens: bool = True) -> Tokens:
        """Returns, per text, a list of (id, piece, start, end, special)."""
        return _tokens(self.encoder.Tokenize(pb.TokenizeRequest(
            model=model, texts=list(texts), add_special_tokens=add_special_tokens),
            timeout=self.timeout))

    def rerank(self, query, texts, *, model="", truncate=False, raw_scores=False,
               return_text=False, top_n=0, compute_dtype="fp32"):
        """Ranks texts by relevance to query with a cross-encoder. Returns a list of
        (index, score, text) highest first (text empty unless return_text)."""
        return _ranks(self.encoder.Rerank(_rerank_request(
            query, texts, model, truncate, raw_scores, return_text, top_n, compute_dtype),
            timeout=self.timeout))

    def classify(self, texts, text_pairs=(), *, model="", truncate=False, raw_scores=False,
                 compute_dtype="fp32"):
        """Per text (or (text, pair)), a list of (label, score) highest first."""
        return _labels(self.encoder.Classify(_classify_request(
            texts, text_pairs, model, truncate, raw_scores, compute_dtype),
            timeout=self.timeout))

    def detokenize(self, token_ids, *, model="", skip_special_tokens=False):
        """Decodes each list of ids to text (HF's decode). Returns a list of strings."""
        return list(self.encoder.Detokenize(_detokenize_request(
            token_ids, model, skip_special_tokens), timeout=self.timeout).texts)

    def models(self) -> pb.ListModelsResponse:
        return self.encoder.ListModels(pb.ListModelsRequest(), timeout=self.timeout)

    def health(self, service: str = "") -> bool:
        """True when the server (or `service`) is SERVING."""
        response = self.health_stub.Check(health_pb2.HealthCheckRequest(service=service),
                                          timeout=self.timeout)
        return response.status == health_pb2.HealthCheckResponse.SERVING


class AsyncClient:
    """Client's methods as coroutines, on grpc.aio channels (same target, balancing,
    retries and timeout). Use it inside a running event loop, and close it there:

        async with AsyncClient(address) as client:
            result = await client.encode(["hello world"])
    """

    def __init__(self, address: str = "127.0.0.1:50051", timeout: float = 30.0,
                 root_certificates: Optional[bytes] = None,
                 private_key: Optional[bytes] = None,
                 certificate_chain: Optional[bytes] = None, max_retries: int = 3):
        options, health_options = _channel_options(max_retries)
        creds = _credentials(root_certificates, private_key, certificate_chain)
        if creds is not None:
            self.channel = grpc.aio.secure_channel(address, creds, options)
            self.health_channel = grpc.aio.secure_channel(address, creds, health_options)
        else:
            self.channel = grpc.aio.insecure_channel(address, options)
            self.health_channel = grpc.aio.insecure_channel(address, health_options)
        self.timeout = timeout
        self.attention = pb_grpc.AttentionServiceStub(self.channel)
        self.encoder = pb_grpc.EncoderServiceStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.health_channel)

    async def close(self) -> None:
        await self.channel.close()
        await self.health_channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def attend(self, query: Any, key: Any = None, value: Any = None, *,
                     mask: Any = None, key_lengths: Sequence[int] = (),
                     return_weights: bool = False, compute_dtype: str = "fp32",
                     **spec: Any) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """As Client.attend."""
        request = _attend_request(query, key, value, mask, key_lengths, return_weights,
                                  compute_dtype, spec)
        return _attend_result(await self.attention.Attend(request, timeout=self.timeout),
                              return_weights)

    async def encode(self, texts: Sequence[str], *, model: str = "",
                     pooling: Optional[str] = None, normalize: bool = False,
                     truncate: bool = False, token_embeddings: bool = False,
                     attention_layers: Sequence[int] = (), compute_dtype: str = "fp32",
                     prompt_name: str = "",
                     chunking: Optional[tuple[int, int]] = None) -> EncodeResult:
        """As Client.encode."""
        request = _encode_request(texts, model, pooling, normalize, truncate,
                                  token_embeddings, attention_layers, compute_dtype,
                                  prompt_name, chunking)
        return _encode_result(await self.encoder.Encode(request, timeout=self.timeout),
                              token_embeddings, pooling, chunking)

    async def rerank(self, query: str, texts: Sequence[str], *, model: str = "",
                     truncate: bool = False, raw_scores: bool = False,
                     return_text: bool = False, top_n: int = 0,
                     compute_dtype: str = "fp32") -> list[tuple[int, float, str]]:
        """As Client.rerank."""
        return _ranks(await self.encoder.Rerank(_rerank_request(
            query, texts, model, truncate, raw_scores, return_text, top_n, compute_dtype),
            timeout=self.timeout))

    async def classify(self, texts: Sequence[str], text_pairs: Sequence[str] = (), *,
                       model: str = "", truncate: bool = False, raw_scores: bool = False,
                       compute_dtype: str = "fp32") -> list[list[tuple[str, float]]]:
        """As Client.classify."""
        return _labels(await self.encoder.Classify(_classify_request(
            texts, text_pairs, model, truncate, raw_scores, compute_dtype),
            timeout=self.timeout))

    async def detokenize(self, token_ids: Sequence[Sequence[int]], *, model: str = "",
                         skip_special_tokens: bool = False) -> list[str]:
        """As Client.detokenize."""
        response = await self.encoder.Detokenize(_detokenize_request(
            token_ids, model, skip_special_tokens), timeout=self.timeout)
        return list(response.texts)

    async def tokenize(self, texts: Sequence[str], *, model: str = "",
                       add_special_tokens: bool = True) -> Tokens:
        """As Client.tokenize."""
        return _tokens(await self.encoder.Tokenize(pb.TokenizeRequest(
            model=model, texts=list(texts), add_special_tokens=add_special_tokens),
            timeout=self.timeout))

    async def models(self) -> pb.ListModelsResponse:
        return await self.encoder.ListModels(pb.ListModelsRequest(), timeout=self.timeout)

    async def health(self, service: str = "") -> bool:
        """True when the server (or `service`) is SERVING."""
        response = await self.health_stub.Check(
            health_pb2.HealthCheckRequest(service=service), timeout=self.timeout)
        return response.status == health_pb2.HealthCheckResponse.SERVING
