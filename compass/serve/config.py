"""Serving limits and defaults (``serve.*`` in a recipe; override with ``--serve.key=value``)."""

from __future__ import annotations

from dataclasses import dataclass

from compass.config import Config, ConfigError


@dataclass
class ServeConfig(Config):
    host: str = "127.0.0.1"  # loopback by default: exposing the API is an explicit choice
    port: int = 8000
    model_name: str = ""  # the id /v1/models reports; empty = the checkpoint directory's name
    max_prompt_tokens: int = 0  # 0 = the model's context length minus one
    max_new_tokens: int = 256  # hard ceiling on max_tokens per request
    default_max_tokens: int = 128  # when a request gives none (capped by max_new_tokens)
    max_concurrent: int = 16  # requests generating at once in the engine's batch
    max_queue: int = 64  # requests waiting for a slot; beyond this -> 429
    max_n: int = 4  # most choices per request
    max_body_bytes: int = 1_000_000  # -> 413
    request_timeout_s: float = 300.0  # -> 504; generation is cancelled and its KV cache freed
    rate_limit_per_min: int = 0  # requests per minute per API key (0 = no limit) -> 429
    retry_after_s: int = 1  # the Retry-After a 429 carries when the queue is full
    drain_timeout_s: float = 30.0  # graceful shutdown: how long in-flight requests may finish
    accounting_log: str = ""  # JSONL file: one record per request (key label, tokens, latency)
    max_logprobs: int = 20  # most alternatives per position for logprobs / top_logprobs

    def validate(self) -> None:
        errs = []
        for name in ("max_new_tokens", "max_concurrent", "max_n", "max_body_bytes"):
            if getattr(self, name) <= 0:
                errs.append(f"serve.{name}={getattr(self, name)} must be positive")
        for name in ("max_queue", "rate_limit_per_min", "max_prompt_tokens", "max_logprobs"):
            if getattr(self, name) < 0:
                errs.append(f"serve.{name}={getattr(self, name)} must be >= 0")
        if self.request_timeout_s <= 0:
            errs.append(f"serve.request_timeout_s={self.request_timeout_s} must be positive")
        if errs:
            raise ConfigError("; ".join(errs))
