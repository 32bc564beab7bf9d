"""Config of the evaluation stage inside ``compass run``."""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.eval.forms import parse_forms
from compass.eval.niah_stages import NiahStagesConfig


@dataclass
class EvalConfig(Config):
    # Items per (task, language) from the built-in suite; 0 = all. A CPU recipe sets a few, so
    # that its run stays in minutes while every language and e-commerce category still counts.
    items_per_lang: int = 0
    batch_size: int = 64
    quant_methods: list[str] | None = (
        None  # quantized variants to build and compare; None = fp8, awq
    )
    # Forms each model is scored in (compass.eval.forms): raw for every model, and each model as
    # it is meant to be used; docs/eval-forms.md.
    forms: list[str] = field(default_factory=lambda: ["raw", "chat", "letters", "deep"])
    # Needle retrieval before and after the long-context stage (``compass run``'s niah step).
    niah: NiahStagesConfig = field(default_factory=NiahStagesConfig)

    def validate(self) -> None:
        if self.items_per_lang < 0:
            raise ConfigError(f"eval.items_per_lang={self.items_per_lang} must be >= 0 (0 = all)")
        try:
            self.forms = parse_forms(self.forms)
        except ValueError as e:
            raise ConfigError(f"eval.forms: {e}") from None
        if "raw" not in self.forms:
            raise ConfigError(
                "eval.forms must keep 'raw': the raw column is every model's baseline"
            )
