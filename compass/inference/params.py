"""Per-request sampling controls (report §7.1: temperature, top-k, top-p, repetition penalty, seed).

The names and meanings follow vLLM's ``SamplingParams`` and the OpenAI API, so the server maps
request fields straight onto this dataclass. ``validate()`` names the bad field and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from compass.config import ConfigError

GREEDY_BELOW = 1e-5


@dataclass
class SamplingParams:
    temperature: float = 1.0  # 0 = greedy (argmax); the other sampling knobs are then unused
    top_k: int = 0  # 0 = off; keep the k most likely tokens
    top_p: float = 1.0  # nucleus: smallest set whose probability reaches top_p; 1 = off
    # CTRL/HF-style: the logit of every token already in prompt or output is divided by the
    # penalty when positive and multiplied by it when negative; 1 = off.
    repetition_penalty: float = 1.0
    max_tokens: int = 256  # new tokens at most; generation also stops at the context length
    stop: list[str] = field(default_factory=list)  # stop strings (need a tokenizer); not returned
    stop_token_ids: list[int] = field(default_factory=list)  # besides EOS; the token is returned
    ignore_eos: bool = False
    seed: int | None = None  # per-request torch.Generator: same seed -> same sample
    logprobs: int | None = None  # None = none; n >= 0 = chosen token's logprob plus the top n
    enable_thinking: bool = False  # deep (think) mode for chat prompts; fast mode by default
    truncate_prompt: bool = False  # keep the prompt's tail when it does not fit, instead of error

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        self.validate()

    def validate(self) -> None:
        errs = []
        if not self.temperature >= 0:
            errs.append(f"temperature={self.temperature} must be >= 0 (0 means greedy)")
        if not isinstance(self.top_k, int) or self.top_k < 0:
            errs.append(f"top_k={self.top_k} must be an integer >= 0 (0 disables it)")
        if not 0 < self.top_p <= 1:
            errs.append(f"top_p={self.top_p} must lie in (0, 1] (1 disables it)")
        if not self.repetition_penalty >= 0.01:
            errs.append(
                f"repetition_penalty={self.repetition_penalty} must be >= 0.01 (1 disables it)"
            )
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            errs.append(f"max_tokens={self.max_tokens} must be an integer >= 1")
        if self.logprobs is not None and (not isinstance(self.logprobs, int) or self.logprobs < 0):
            errs.append(f"logprobs={self.logprobs} must be None or an integer >= 0")
        if any(not isinstance(s, str) or not s for s in self.stop):
            errs.append(f"stop={self.stop!r} must be a list of non-empty strings")
        if any(not isinstance(t, int) or t < 0 for t in self.stop_token_ids):
            errs.append(f"stop_token_ids={self.stop_token_ids!r} must be token ids (ints >= 0)")
        if self.seed is not None and not isinstance(self.seed, int):
            errs.append(f"seed={self.seed!r} must be an integer or None")
        if errs:
            raise ConfigError("invalid sampling parameters: " + "; ".join(errs))

    @classmethod
    def report_defaults(cls, **overrides) -> SamplingParams:
        """The settings the report evaluates Compass-v2 with (§7.1), as a chat default."""
        base = dict(temperature=0.4, top_k=5, top_p=0.85, repetition_penalty=1.05, max_tokens=2048)
        return cls(**{**base, **overrides})

    @property
    def greedy(self) -> bool:
        # Dividing logits by a vanishing temperature overflows to inf/NaN; below 1e-5 the sample
        # is the argmax anyway (vLLM draws the same line).
        return self.temperature < GREEDY_BELOW

    def replace(self, **changes) -> SamplingParams:
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict) -> SamplingParams:
        """Build from a request body; an unknown field is an error naming it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown sampling parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**d)
