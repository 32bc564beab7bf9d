"""Serving logic shared by the endpoints: limits, admission, collecting a request's output.

The endpoint modules (``completions``, ``chat``) turn a validated request into prompt ids and
:class:`GenParams`, then use :meth:`Service.start` / :meth:`Service.collect` /
:meth:`Service.deltas`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field

from compass.serve.backend import Backend, Delta, GenParams, TokenLogprob
from compass.serve.config import ServeConfig
from compass.serve.engine_loop import EngineError, EngineLoop, QueueFull, RequestRejected
from compass.serve.errors import APIError
from compass.serve.metrics import Metrics
from compass.serve.protocol import SamplingFields

log = logging.getLogger(__name__)


@dataclass
class ServeState:
    draining: bool = False
    in_flight: int = 0


@dataclass
class Output:
    """One choice's whole output, gathered from its deltas."""

    token_ids: list[int] = field(default_factory=list)
    text: str = ""
    finish_reason: str = "length"
    logprobs: list[TokenLogprob] = field(default_factory=list)
    prompt_tokens: int = 0

    def add(self, d: Delta) -> None:
        self.token_ids += d.token_ids
        self.text += d.text
        self.logprobs += d.logprobs or []
        if d.finished:
            self.finish_reason = d.finish_reason or "stop"


class Service:
    def __init__(self, backend: Backend, config: ServeConfig, metrics: Metrics):
        config.validate()
        self.backend, self.config, self.metrics = backend, config, metrics
        self.loop = EngineLoop(backend, config.max_concurrent, config.max_queue)
        self.state = ServeState()
        self.created = int(time.time())

    @property
    def max_prompt_tokens(self) -> int:
        limit = self.backend.max_model_len - 1
        return min(limit, self.config.max_prompt_tokens) if self.config.max_prompt_tokens else limit

    # -- request checks ---------------------------------------------------------------------
    def check_model(self, model: str | None) -> None:
        if model and model != self.backend.model_name:
            raise APIError(
                404,
                f"model '{model}' is not served here; "
                f"GET /v1/models lists '{self.backend.model_name}'",
                param="model",
                code="model_not_found",
            )

    def check_prompt(self, ids: list[int], param: str) -> None:
        if not ids:
            raise APIError(400, f"'{param}' is empty", param=param)
        if len(ids) > self.max_prompt_tokens:
            raise APIError(
                400,
                f"'{param}' has {len(ids)} tokens; this server accepts at most "
                f"{self.max_prompt_tokens}. Shorten it.",
                param=param,
                code="context_length_exceeded",
            )
        bad = next((t for t in ids if not 0 <= t < self.backend.vocab_size), None)
        if bad is not None:
            raise APIError(
                400,
                f"'{param}' holds token id {bad}, "
                f"outside the vocabulary [0, {self.backend.vocab_size})",
                param=param,
            )

    def max_tokens(self, value: int | None, param: str) -> int:
        if value is None:
            return min(self.config.default_max_tokens, self.config.max_new_tokens)
        if value > self.config.max_new_tokens:
            raise APIError(
                400,
                f"'{param}'={value} exceeds this server's limit of {self.config.max_new_tokens}",
                param=param,
            )
        return value

    def gen_params(self, req: SamplingFields, max_tokens: int, logprobs: int | None) -> GenParams:
        if req.n > self.config.max_n:
            raise APIError(
                400, f"'n'={req.n} exceeds this server's limit of {self.config.max_n}", param="n"
            )
        if logprobs is not None and logprobs > self.config.max_logprobs:
            raise APIError(
                400,
                f"logprobs={logprobs} exceeds this server's limit of {self.config.max_logprobs}",
                param="logprobs",
            )
        return GenParams(
            max_tokens=max_tokens,
            # As vLLM: a temperature this small is greedy (dividing by it overflows the logits).
            temperature=req.temperature if req.temperature >= 1e-5 else 0.0,
            top_p=req.top_p,
            top_k=max(req.top_k, 0),
            repetition_penalty=req.repetition_penalty,
            stop=list(req.stop or []),
            seed=req.seed,
            logprobs=logprobs,
        )

    # -- running ----------------------------------------------------------------------------
    def start(self, jobs: list[tuple[list[int], GenParams]]) -> list[tuple[str, asyncio.Queue]]:
        """Queue every choice of a request, or none of them (429 when the queue is full)."""
        capacity = self.config.max_concurrent + self.config.max_queue
        if len(jobs) > capacity:
            raise APIError(
                400,
                f"this request needs {len(jobs)} generations (prompts x n); the server holds at "
                f"most {capacity} at once. Split it.",
                param="n",
            )
        started: list[tuple[str, asyncio.Queue]] = []
        try:
            for ids, params in jobs:
                rid = uuid.uuid4().hex
                started.append((rid, self.loop.submit(rid, ids, params)))
        except QueueFull:
            for rid, _ in started:
                self.loop.cancel(rid)
            self.metrics.rejected["queue_full"] += 1
            raise APIError(
                429,
                f"server busy: {self.loop.num_running} requests generating and "
                f"{self.loop.num_waiting} queued; retry later",
                code="queue_full",
                headers={"Retry-After": str(self.config.retry_after_s)},
            ) from None
        return started

    async def collect(self, rid: str, q: asyncio.Queue, prompt_tokens: int) -> Output:
        out = Output(prompt_tokens=prompt_tokens)
        async for d in self.deltas(rid, q):
            out.add(d)
        return out

    async def deltas(self, rid: str, q: asyncio.Queue):
        try:
            async for d in self.loop.stream(rid, q):
                yield d
        except RequestRejected as e:
            raise APIError(400, str(e), code="rejected_by_engine") from None
        except EngineError as e:
            raise APIError(500, str(e), code="engine_error") from None

    async def gather(self, coros: list) -> list[Output]:
        """All choices, under the per-request timeout (504; generation is cancelled)."""
        try:
            async with asyncio.timeout(self.config.request_timeout_s):
                return await asyncio.gather(*coros)
        except TimeoutError:
            self.metrics.rejected["timeout"] += 1
            raise APIError(
                504,
                f"request took longer than {self.config.request_timeout_s:g} s and was cancelled",
                code="timeout",
            ) from None

    def account(
        self, who: str, endpoint: str, prompt_tokens: int, completion_tokens: int, t0: float
    ) -> None:
        """Per-key usage: metrics, a log line and, when configured, one JSONL record."""
        latency = time.monotonic() - t0
        self.metrics.record_usage(who, prompt_tokens, completion_tokens)
        log.info(
            "%s key=%s prompt_tokens=%d completion_tokens=%d latency=%.3fs",
            endpoint,
            who,
            prompt_tokens,
            completion_tokens,
            latency,
        )
        if self.config.accounting_log:
            record = {
                "time": round(time.time(), 3),
                "key": who,
                "endpoint": endpoint,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "latency_s": round(latency, 4),
            }
            with open(self.config.accounting_log, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


async def until_disconnect(request, coro):
    """Await ``coro``; cancel it (freeing its KV cache) if the client goes away first."""
    task = asyncio.ensure_future(coro)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                raise APIError(499, "client closed the request", code="client_closed")
    finally:
        if not task.done():
            task.cancel()
