"""The one module that knows ``compass.inference``: :class:`Backend` over the real engine.

If the engine's API changes, this file changes and nothing else in ``compass.serve`` does.
"""

from __future__ import annotations

import logging
from pathlib import Path

from compass.inference import Engine, SamplingParams
from compass.inference.chat import render_chat
from compass.inference.reasoning import ThinkSplitter
from compass.serve.backend import Delta, GenParams, TokenLogprob
from compass.tokenizer.locate import tokenizer_for

log = logging.getLogger(__name__)


class NoTokenizer(ValueError):
    """Text in or out was asked of a server started without a tokenizer."""


class EngineBackend:
    def __init__(self, engine: Engine, model_name: str):
        self.engine = engine
        self.tok = engine.tokenizer
        self.model_name = model_name
        self.max_model_len = engine.max_seq_len
        self.vocab_size = engine.config.vocab_size

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: str | Path,
        tokenizer: str | Path | None = None,
        model_name: str = "",
        max_batch: int = 16,
        device: str = "cpu",
        dtype=None,
    ) -> EngineBackend:
        tok_dir = tokenizer_for(checkpoint, tokenizer, required=False)
        if tok_dir is None:
            log.warning(
                "no tokenizer found: only token-id completions will work (give --tokenizer)"
            )
        kw = {"device": device} | ({"dtype": dtype} if dtype is not None else {})
        engine = Engine.from_checkpoint(checkpoint, tokenizer=tok_dir, max_batch=max_batch, **kw)
        n_tok = getattr(engine.tokenizer, "vocab_size", None)
        if n_tok is not None and n_tok != engine.config.vocab_size:
            log.warning(
                "tokenizer %s has %d pieces but the model's vocabulary is %d: ids the tokenizer "
                "does not know cannot be decoded; check that they belong together",
                tok_dir,
                n_tok,
                engine.config.vocab_size,
            )
        return cls(engine, model_name or Path(checkpoint).resolve().name)

    def _need_tok(self, what: str):
        if self.tok is None:
            raise NoTokenizer(
                f"{what} needs a tokenizer, and this server was started without one: send token "
                "ids, or restart it with --tokenizer DIR"
            )
        return self.tok

    def encode(self, text: str) -> list[int]:
        return list(self._need_tok("a text prompt").encode(text))

    def decode(self, ids: list[int]) -> str:
        if self.tok is None:
            return ""
        return self.tok.decode(ids)

    def _piece(self, token_id: int) -> str:
        return self.tok.decode([token_id]) if self.tok is not None else str(token_id)

    def render_chat(self, messages: list[dict], enable_thinking: bool) -> list[int]:
        self._need_tok("chat")
        return render_chat(self.tok, messages, enable_thinking)

    def reasoning_parser(self, prompt_ids: list[int], enable_thinking: bool, stop: list[str]):
        return ThinkParser(self.engine.tokenizer, self.engine.eos_ids, prompt_ids, stop)

    def add(self, request_id: str, prompt_ids: list[int], params: GenParams) -> None:
        sp = SamplingParams(
            temperature=params.temperature,
            top_k=params.top_k,
            top_p=params.top_p,
            repetition_penalty=params.repetition_penalty,
            max_tokens=params.max_tokens,
            stop=list(params.stop),
            seed=params.seed,
            logprobs=params.logprobs,
        )
        if sp.stop:
            self._need_tok("'stop'")
        self.engine.add_request(prompt_ids, sp, request_id=request_id)

    def abort(self, request_id: str) -> None:
        self.engine.abort(request_id)

    def has_work(self) -> bool:
        return self.engine.has_unfinished()

    def step(self) -> list[Delta]:
        return [
            Delta(
                request_id=o.request_id,
                token_ids=list(o.new_token_ids),
                text=o.text,
                finished=o.finished,
                finish_reason=o.finish_reason,
                logprobs=[self._logprob(lp) for lp in o.logprobs] if o.logprobs else None,
                prompt_tokens=o.num_prompt_tokens,
                completion_tokens=o.num_output_tokens,
            )
            for o in self.engine.step()
        ]

    def _logprob(self, lp) -> TokenLogprob:
        top = [(self._piece(t), float(v)) for t, v in lp.top]
        return TokenLogprob(self._piece(lp.token_id), float(lp.logprob), top, lp.token_id)

    def prompt_logprobs(self, ids: list[int], top_n: int) -> list[TokenLogprob | None]:
        out = self.engine.prompt_logprobs(ids, top_n)
        return [None if lp is None else self._logprob(lp) for lp in out]


class ThinkParser:
    """The backend's ``reasoning_parser``: the engine's id-based think split (robust to decoders
    that drop special tokens) over the stream of one answer."""

    def __init__(self, tokenizer, eos_ids: set[int], prompt_ids: list[int], stop: list[str]):
        self.eos_ids = eos_ids
        self.splitter = ThinkSplitter(tokenizer, prompt_ids, stop)

    def feed(self, delta: Delta) -> tuple[str, str]:
        ids = delta.token_ids
        if delta.finished and ids and ids[-1] in self.eos_ids:
            ids = ids[:-1]  # EOS ends the answer; it is not part of it
        return self.splitter.feed(ids)

    def flush(self) -> tuple[str, str]:
        return self.splitter.flush()
