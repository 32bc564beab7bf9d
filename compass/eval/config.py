"""Config of the evaluation stage inside ``compass run``."""

from __future__ import annotations

from dataclasses import dataclass

from compass.config import Config, ConfigError


@dataclass
class EvalConfig(Config):
    # Items per (task, language) from the built-in suite; 0 = all. Keeps the tiny run in minutes
    # while every language and every e-commerce category still counts.
    items_per_lang: int = 12
    batch_size: int = 64
    quant_methods: list[str] | None = (
        None  # quantized variants to build and compare; None = fp8, awq
    )

    def validate(self) -> None:
        if self.items_per_lang < 0:
            raise ConfigError(f"eval.items_per_lang={self.items_per_lang} must be >= 0 (0 = all)")
