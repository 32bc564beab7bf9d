"""What the harness asks of a model: log-likelihoods of continuations and greedy generations.

Requests are encoded exactly as lm-evaluation-harness's HF backend does (trailing spaces of the
context move to the continuation; the continuation's ids are the tail of the whole string's ids;
no special tokens), so Compass's own harness and lm-eval score the same items identically.
"""

from __future__ import annotations

from typing import Protocol

from compass.inference.params import SamplingParams


class ModelLoadError(ValueError):
    """A model argument that cannot be opened; the message names it and what to pass instead."""


class Unsupported(RuntimeError):
    """This backend cannot serve a kind of request (e.g. log-likelihoods from an endpoint that
    returns no log-probabilities); the harness skips the task and reports why."""


class Backend(Protocol):
    def loglikelihood(self, requests: list[tuple[str, str]]) -> list[tuple[float, bool]]: ...

    def generate_until(self, requests: list[tuple[str, list[str], int]]) -> list[str]: ...


def encode_text(tokenizer, text: str) -> list[int]:
    """Ids without special tokens, for a Compass tokenizer or any Hugging Face tokenizer."""
    try:
        from transformers import PreTrainedTokenizerBase

        if isinstance(tokenizer, PreTrainedTokenizerBase):
            return tokenizer.encode(text, add_special_tokens=False)
    except ImportError:
        pass
    return list(tokenizer.encode(text))


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode_text(tokenizer, context + continuation)
    ctx = encode_text(tokenizer, context)
    return ctx, whole[len(ctx) :]


class EngineBackend:
    """A Compass engine (local checkpoint, float or quantized) as an evaluation backend."""

    def __init__(self, engine, tokenizer, batch_size: int = 16):
        if tokenizer is None:
            raise ValueError("evaluation needs a tokenizer: pass --tokenizer DIR")
        self.engine, self.tokenizer, self.batch_size = engine, tokenizer, batch_size
        self.max_len = engine.max_seq_len

    def loglikelihood(self, requests: list[tuple[str, str]]) -> list[tuple[float, bool]]:
        return self.loglikelihood_ids([encode_pair(self.tokenizer, c, x) for c, x in requests])

    def loglikelihood_ids(
        self, pairs: list[tuple[list[int], list[int]]]
    ) -> list[tuple[float, bool]]:
        """(context ids, continuation ids) pairs, the context cut on the left to fit."""
        cut = []
        for ctx, cont in pairs:
            if not ctx:  # lm-eval scores an empty context after the end-of-text token
                ctx = [min(self.engine.eos_ids)] if self.engine.eos_ids else [0]
            whole = (ctx + cont)[-self.max_len :]
            cut.append((whole[: len(whole) - len(cont)], cont))
        return self.engine.score_batch(cut, self.batch_size)

    def generate_ids(
        self, prompts: list[list[int]], max_tokens: list[int], stop_ids: list[int]
    ) -> list[list[int]]:
        """Greedy new ids after each prompt, up to an end of text or a stop id (end of turn)."""
        cut = [ids[-(self.max_len - n) :] for ids, n in zip(prompts, max_tokens)]
        params = [
            SamplingParams(temperature=0.0, max_tokens=n, stop_token_ids=list(stop_ids))
            for n in max_tokens
        ]
        return [o.token_ids for o in self.engine.generate(cut, params)]

    def generate_until(self, requests: list[tuple[str, list[str], int]]) -> list[str]:
        prompts, params = [], []
        for context, until, max_tokens in requests:
            ids = encode_text(self.tokenizer, context)
            prompts.append(ids[-(self.max_len - max_tokens) :])
            params.append(SamplingParams(temperature=0.0, max_tokens=max_tokens, stop=list(until)))
        outs = self.engine.generate(prompts, params)
        # Kept for inspection: byte-fallback pieces decode differently across tokenizer libraries
        # (HF replaces a whole invalid byte run, SentencePiece only the invalid bytes).
        self.last_token_ids = [o.token_ids for o in outs]
        return [cut_until(o.text, until) for o, (_, until, _) in zip(outs, requests)]


def cut_until(text: str, until: list[str]) -> str:
    for s in until:
        if s and s in text:
            text = text.split(s)[0]
    return text
