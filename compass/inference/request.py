"""A request's state while it runs, and what the engine hands back per step and at the end."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import torch

from compass.inference.params import SamplingParams


class Status(enum.Enum):
    WAITING = "waiting"  # queued, holds no cache slot
    RUNNING = "running"  # holds a slot; prefilling until num_computed == len(prompt)
    FINISHED = "finished"


@dataclass
class TokenLogprob:
    """Log-probability of one token under the model's raw distribution (before any sampling
    transform, as vLLM and the OpenAI API report it), with the ``top`` n alternatives."""

    token_id: int
    logprob: float
    top: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class RequestOutput:
    """What one ``Engine.step()`` produced for one request: only what is new since the last step."""

    request_id: str
    new_token_ids: list[int]
    text: str = ""  # text delta (empty without a tokenizer; held back while a stop may be forming)
    finished: bool = False
    finish_reason: str | None = None  # "stop" (EOS, stop token or string), "length", "abort"
    logprobs: list[TokenLogprob] | None = None
    num_prompt_tokens: int = 0
    num_output_tokens: int = 0


@dataclass
class Completion:
    """A finished request, as ``Engine.generate`` returns it."""

    request_id: str
    prompt_ids: list[int]
    token_ids: list[int]
    text: str
    finish_reason: str
    logprobs: list[TokenLogprob] | None = None
    reasoning_content: str | None = None  # set by the chat helpers
    content: str | None = None
    latency_s: float = 0.0


@dataclass(eq=False)  # identity: the scheduler finds a request in its lists by `is`
class Request:
    request_id: str
    prompt_ids: list[int]
    params: SamplingParams
    generator: torch.Generator | None  # None for greedy requests
    arrival_s: float
    status: Status = Status.WAITING
    slot: int | None = None
    num_computed: int = 0  # tokens whose keys/values sit in the cache
    output_ids: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprob] | None = None
    finish_reason: str | None = None
    finish_s: float | None = None
    # Set by the engine when a tokenizer is present (compass.inference.detokenizer).
    detok: object | None = None

    @property
    def num_prompt(self) -> int:
        return len(self.prompt_ids)

    @property
    def num_tokens(self) -> int:
        return len(self.prompt_ids) + len(self.output_ids)

    @property
    def prefilling(self) -> bool:
        return self.num_computed < self.num_prompt

    def all_ids(self) -> list[int]:
        return self.prompt_ids + self.output_ids

    def next_input(self, limit: int) -> list[int]:
        """The tokens to feed next: up to ``limit`` prompt tokens while prefilling, else the last
        sampled token (its keys are not cached yet)."""
        if self.prefilling:
            return self.prompt_ids[self.num_computed : self.num_computed + limit]
        return [self.output_ids[-1]]
