"""The engine: requests in, tokens out, one ``step()`` at a time (the nano-vllm shape).

``add_request`` queues a prompt; each ``step`` asks the scheduler what to run, runs it through the
model with the KV cache, samples, detokenises and reports per-request increments. ``generate``,
``stream``, ``score`` and the chat helpers are conveniences on top; a server drives
``add_request`` / ``step`` / ``abort`` from ONE loop thread (the engine is not thread-safe) so
clients share a batch.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from compass.inference.cache import SlotCache
from compass.inference.detokenizer import IncrementalDetokenizer
from compass.inference.params import SamplingParams
from compass.inference.request import Completion, Request, RequestOutput, TokenLogprob
from compass.inference.runner import ModelRunner
from compass.inference.sampler import Sampler
from compass.inference.scheduler import Scheduler
from compass.inference.scoring import Scorer
from compass.inference.text import encode, eos_ids
from compass.tokenizer import load_tokenizer

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        model: nn.Module,
        tokenizer=None,
        max_batch: int = 32,
        max_seq_len: int | None = None,
        token_budget: int | None = None,
        eos_id: int | None = None,
        seed: int | None = None,
    ):
        self.model = model.eval()
        self.config = model.config
        # The LM head stays float in every quantization scheme, so it names the compute dtype.
        ref = getattr(model.lm_head, "weight", None)
        if ref is None:
            ref = next(p for p in model.parameters() if p.is_floating_point())
        self.device, self.dtype = ref.device, ref.dtype
        limit = self.config.max_seq_len
        if max_seq_len is not None and max_seq_len > limit:
            log.warning("max_seq_len=%d exceeds the model's max_seq_len=%d", max_seq_len, limit)
        self.max_seq_len = max_seq_len or limit
        self.max_batch = max_batch
        self.cache = SlotCache.for_model(
            self.config, max_batch, self.max_seq_len, self.dtype, self.device
        )
        log.info(
            "KV cache: %d slots x %d positions = %.1f MiB",
            max_batch,
            self.max_seq_len,
            self.cache.nbytes() / 2**20,
        )
        self.scheduler = Scheduler(self.cache, max_batch, token_budget or max(2048, max_batch))
        self.runner = ModelRunner(model, self.cache, self.device)
        self.sampler = Sampler()
        self.scorer = Scorer(self.runner, self.max_seq_len)
        self.tokenizer = (
            load_tokenizer(tokenizer) if isinstance(tokenizer, str | Path) else tokenizer
        )
        self.eos_ids = eos_ids(self.tokenizer, eos_id)
        self.text_vocab = int(getattr(self.tokenizer, "vocab_size", 0) or self.config.vocab_size)
        self._requests: dict[str, Request] = {}
        self._ids = itertools.count()
        self._seeds = random.Random(seed)

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        tokenizer=None,
        max_batch: int = 32,
        max_seq_len: int | None = None,
        device: str = "cpu",
        dtype: torch.dtype = torch.float32,
        **kwargs,
    ) -> Engine:
        """Load a checkpoint dir (or a run dir with ``latest``): float (compass.model.io) or
        quantized (compass.quant), whichever the directory holds."""
        model = _load_any(path, dtype).to(device)
        return cls(model, tokenizer, max_batch=max_batch, max_seq_len=max_seq_len, **kwargs)

    # -- requests ---------------------------------------------------------------------------

    def add_request(
        self,
        prompt: list[int] | str,
        params: SamplingParams | None = None,
        request_id: str | None = None,
    ) -> str:
        params = params or SamplingParams()
        params.validate()
        ids = self._prompt_ids(prompt, params)
        request_id = request_id if request_id is not None else f"req-{next(self._ids)}"
        if request_id in self._requests:
            raise ValueError(f"request_id {request_id!r} is already running")
        if params.stop and self.tokenizer is None:
            raise ValueError("stop strings need a tokenizer: pass tokenizer=DIR to the engine")
        if params.logprobs is not None and params.logprobs > self.config.vocab_size:
            raise ValueError(f"logprobs={params.logprobs} exceeds the vocabulary size")
        bad = [t for t in params.stop_token_ids if t >= self.config.vocab_size]
        if bad:
            raise ValueError(f"stop_token_ids {bad} are outside the vocabulary")
        gen = None
        if not params.greedy:
            gen = torch.Generator(device=self.device)
            gen.manual_seed(params.seed if params.seed is not None else self._seeds.getrandbits(63))
        req = Request(request_id, ids, params, gen, time.perf_counter(), logprobs=None)
        if params.logprobs is not None:
            req.logprobs = []
        if self.tokenizer is not None:
            req.detok = IncrementalDetokenizer(self.tokenizer, params.stop)
        self._requests[request_id] = req
        self.scheduler.add(req)
        return request_id

    def _prompt_ids(self, prompt: list[int] | str, params: SamplingParams) -> list[int]:
        vocab = self.config.vocab_size
        if isinstance(prompt, str):
            ids = encode(self.tokenizer, prompt)
        else:
            try:
                ids = list(map(int, prompt))
            except (TypeError, ValueError):
                raise ValueError("a prompt is a string or a list of token ids") from None
        if not ids:
            raise ValueError("the prompt is empty: give at least one token")
        if not all(0 <= t < vocab for t in ids):
            raise ValueError(f"prompt token ids must lie in [0, {vocab}) (the vocabulary)")
        if len(ids) >= self.max_seq_len and not params.truncate_prompt:
            raise ValueError(
                f"the prompt has {len(ids)} tokens but the context holds {self.max_seq_len} "
                "(prompt + at least one new token): shorten the prompt, raise max_seq_len, "
                "or set truncate_prompt=True to keep its tail"
            )
        if params.truncate_prompt:
            keep = max(1, self.max_seq_len - params.max_tokens)
            ids = ids[-keep:]
        return ids

    def abort(self, request_id: str) -> None:
        req = self._requests.pop(request_id, None)
        if req is not None:
            self.scheduler.finish(req, "abort")

    def has_unfinished(self) -> bool:
        return self.scheduler.has_unfinished()

    # -- the step -----------------------------------------------------------------------------

    def step(self) -> list[RequestOutput]:
        sched = self.scheduler.schedule()
        if not sched:
            return []
        to_sample: list[Request] = []
        parts: list[torch.Tensor] = []
        if sched.prefill:
            logits_BV = self.runner.run(sched.prefill)
            done = [i for i, (r, _) in enumerate(sched.prefill) if not r.prefilling]
            to_sample += [sched.prefill[i][0] for i in done]
            parts.append(logits_BV[done])
        if sched.decode:
            parts.append(self.runner.run([(r, 1) for r in sched.decode]))
            to_sample += sched.decode
        if not to_sample:
            return []
        logits_BV = torch.cat(parts)
        if self.text_vocab < logits_BV.shape[-1]:
            # A model whose embedding table is padded past the tokenizer must never emit an id
            # the tokenizer cannot decode.
            logits_BV[:, self.text_vocab :] = float("-inf")
        tokens, logprobs = self.sampler(logits_BV, to_sample)
        return [self._append(r, t, lp) for r, t, lp in zip(to_sample, tokens, logprobs)]

    def _append(self, r: Request, tok: int, lp: TokenLogprob | None) -> RequestOutput:
        r.output_ids.append(tok)
        if lp is not None:
            r.logprobs.append(lp)
        reason = None
        if tok in r.params.stop_token_ids or (not r.params.ignore_eos and tok in self.eos_ids):
            reason = "stop"
        text = ""
        if r.detok is not None and reason is None:
            text, hit = r.detok.add([tok])
            reason = "stop" if hit else None
        if reason is None and (
            len(r.output_ids) >= r.params.max_tokens or r.num_tokens >= self.max_seq_len
        ):
            reason = "length"
        if reason is not None:
            self.scheduler.finish(r, reason)
            self._requests.pop(r.request_id, None)
            if r.detok is not None:
                text += r.detok.flush()
            r.finish_s = time.perf_counter()
        return RequestOutput(
            r.request_id,
            [tok],
            text,
            reason is not None,
            reason,
            [lp] if lp is not None else None,
            r.num_prompt,
            len(r.output_ids),
        )

    # -- conveniences ---------------------------------------------------------------------------

    def _require_idle(self, what: str) -> None:
        if self.has_unfinished():
            raise RuntimeError(
                f"{what}() drives the engine itself, but requests added with add_request() are "
                "still running: drain them with step() first, or drive everything through "
                "add_request()/step() from one loop"
            )

    def generate(
        self,
        prompts: list[list[int] | str],
        params: SamplingParams | list[SamplingParams] | None = None,
    ) -> list[Completion]:
        """Run all prompts to completion (continuously batched); results in prompt order."""
        self._require_idle("generate")
        plist = params if isinstance(params, list) else [params] * len(prompts)
        if len(plist) != len(prompts):
            raise ValueError(f"{len(prompts)} prompts but {len(plist)} sampling params")
        reqs = []
        try:
            for p, sp in zip(prompts, plist):
                reqs.append(self._requests[self.add_request(p, sp)])
            while self.has_unfinished():
                self.step()
        except BaseException:
            # Leave the engine usable: a bad prompt or an interrupted run frees every slot.
            for r in reqs:
                self.abort(r.request_id)
            raise
        return [_completion(r) for r in reqs]

    def stream(
        self, prompt: list[int] | str, params: SamplingParams | None = None
    ) -> Iterator[RequestOutput]:
        """Yield one request's increments as they are produced; aborts it if the consumer stops."""
        self._require_idle("stream")
        rid = self.add_request(prompt, params)
        try:
            while self.has_unfinished():
                yield from (o for o in self.step() if o.request_id == rid)
        finally:
            self.abort(rid)

    def score(self, prompt_ids: list[int], continuation_ids: list[int]) -> tuple[float, bool]:
        """(sum of log p(continuation | prompt), whether greedy decoding would produce it)."""
        return self.scorer.score_batch([(prompt_ids, continuation_ids)])[0]

    def score_batch(
        self, pairs: list[tuple[list[int], list[int]]], batch_size: int = 16
    ) -> list[tuple[float, bool]]:
        return self.scorer.score_batch(pairs, batch_size)

    def prompt_logprobs(self, ids: list[int], top_n: int = 0) -> list[TokenLogprob | None]:
        """Each token's logprob given the tokens before it (the first has none): ``echo``."""
        return self.scorer.prompt_logprobs(ids, top_n)

    def chat(self, messages: list[dict], params: SamplingParams | None = None) -> Completion:
        from compass.inference.chat import chat

        return chat(self, messages, params)

    def stream_chat(self, messages: list[dict], params: SamplingParams | None = None):
        from compass.inference.chat import stream_chat

        return stream_chat(self, messages, params)


def _load_any(path: str | Path, dtype: torch.dtype) -> nn.Module:
    from compass.model.io import load_model
    from compass.quant import is_quantized, load_quantized

    if is_quantized(path):
        return load_quantized(path)
    return load_model(path, dtype=dtype)


def _completion(r: Request) -> Completion:
    return Completion(
        request_id=r.request_id,
        prompt_ids=r.prompt_ids,
        token_ids=list(r.output_ids),
        text=r.detok.text if r.detok is not None else "",
        finish_reason=r.finish_reason or "abort",
        logprobs=r.logprobs,
        latency_s=(r.finish_s or r.arrival_s) - r.arrival_s,
    )
