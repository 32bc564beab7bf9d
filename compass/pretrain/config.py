"""The three pretraining stages (report §2.3), each a full training config of its own.

``pretrain.main``: broad mixture, warmup + cosine. ``pretrain.anneal``: the high-quality subset
(quality >= ``pretrain.hq_quality``), re-warmup to a lower peak, larger batch.
``pretrain.long``: RoPE base raised (ABF) and sequence length ×8 with a 40/60 short/long
document mixture and a low constant LR. Each recipe states its three schedules
(``compass/recipes``); the defaults here are the training loop's generic values
(:class:`compass.train.config.TrainConfig`), with the anneal stage on high-quality data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.train.config import TrainConfig

STAGES = ("main", "anneal", "long")


@dataclass
class PretrainStageConfig(TrainConfig):
    # Train only on documents with quality >= pretrain.hq_quality (the anneal stage).
    hq_only: bool = False
    # Per-domain multipliers on curation's document weights (the mixture), e.g. {"code": 0.5}.
    domain_weights: dict[str, float] = field(default_factory=dict)
    lang_weights: dict[str, float] = field(default_factory=dict)  # e.g. {"th": 2.0}
    # Long-context stage: new RoPE base (ABF) and the short-document token share of the mix.
    rope_base: float | None = None
    short_doc_frac: float | None = None
    short_doc_len: int = 0  # "short" = fewer tokens than this (the previous stage's seq_len)
    # Whole-document packing (``LoaderSpec.fit_lookahead``): documents that fit a sequence are
    # not cut in two, so what a page states at its top is in context at its bottom; 0 = off.
    fit_lookahead: int = 64
    # Evaluate short-context loss at this length too (long stage keeps it monitored); 0 = off.
    eval_short_seq_len: int = 0

    def validate(self) -> None:
        super().validate()
        if self.short_doc_frac is not None and not 0.0 <= self.short_doc_frac <= 1.0:
            raise ConfigError(f"short_doc_frac={self.short_doc_frac} must be in [0, 1]")
        if self.fit_lookahead < 0:
            raise ConfigError(f"fit_lookahead={self.fit_lookahead} must be >= 0 (0 = off)")
        if self.short_doc_frac is not None and self.short_doc_len <= 0:
            raise ConfigError("short_doc_frac is set: also set short_doc_len (tokens)")


@dataclass
class PretrainConfig(Config):
    # The high-quality threshold on curation's quality score: anneal trains on documents at or
    # above it and every stage reports validation loss on the held-out HQ documents.
    hq_quality: float = 0.7
    main: PretrainStageConfig = field(default_factory=PretrainStageConfig)
    anneal: PretrainStageConfig = field(default_factory=lambda: PretrainStageConfig(hq_only=True))
    long: PretrainStageConfig = field(default_factory=PretrainStageConfig)

    def stage(self, name: str) -> PretrainStageConfig:
        if name not in STAGES:
            raise ConfigError(f"unknown pretraining stage {name!r}: choose {', '.join(STAGES)}")
        return getattr(self, name)
