"""What the server needs from an inference engine, in the server's own types.

``compass.serve.engine_adapter`` implements :class:`Backend` over ``compass.inference``; tests use
a small scripted fake. Everything in the server talks to this protocol only, so a change in the
engine's API touches the adapter alone. All methods are called from ONE thread (the engine loop's
worker), never concurrently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class GenParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    repetition_penalty: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    logprobs: int | None = None  # None = none; n = chosen token plus the top n alternatives


@dataclass
class TokenLogprob:
    token: str  # the token's text, as OpenAI reports it
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)
    token_id: int = -1


@dataclass
class Delta:
    """What one engine step produced for one request: only what is new."""

    request_id: str
    token_ids: list[int]
    text: str
    finished: bool = False
    finish_reason: str | None = None  # "stop", "length", "abort"
    logprobs: list[TokenLogprob] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ReasoningParser(Protocol):
    def feed(self, delta: Delta) -> tuple[str, str]:
        """(reasoning text, content text) new in this delta."""
        ...

    def flush(self) -> tuple[str, str]:
        """What is still held back, once the request has finished."""
        ...


class Backend(Protocol):
    model_name: str
    max_model_len: int  # prompt + generated tokens must fit

    vocab_size: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...

    def render_chat(self, messages: list[dict], enable_thinking: bool) -> list[int]:
        """Prompt ids for a chat, ending with the assistant generation prompt."""
        ...

    def reasoning_parser(
        self, prompt_ids: list[int], enable_thinking: bool, stop: list[str]
    ) -> ReasoningParser:
        """A fresh parser splitting one chat answer into reasoning and content."""
        ...

    def add(self, request_id: str, prompt_ids: list[int], params: GenParams) -> None: ...

    def abort(self, request_id: str) -> None:
        """Stop a request and free its KV cache; unknown or finished ids are ignored."""
        ...

    def step(self) -> list[Delta]: ...

    def has_work(self) -> bool: ...

    def prompt_logprobs(self, ids: list[int], top_n: int) -> list[TokenLogprob | None]:
        """Log-probability of each token given the ones before it (None for the first)."""
        ...
