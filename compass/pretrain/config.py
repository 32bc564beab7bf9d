"""The three pretraining stages (report §2.3), each a full training config of its own.

``pretrain.main``: broad mixture, warmup + cosine. ``pretrain.anneal``: the high-quality subset
(quality >= ``pretrain.hq_quality``), re-warmup to a lower peak, larger batch.
``pretrain.long``: RoPE base raised (ABF) and sequence length ×8 with a 40/60 short/long
document mixture and a low constant LR. Defaults are the tiny recipe's values (each stage runs
in a couple of minutes on 2 CPU cores); other recipes set theirs in ``compass/recipes``.
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
    # Evaluate short-context loss at this length too (long stage keeps it monitored); 0 = off.
    eval_short_seq_len: int = 0

    def validate(self) -> None:
        super().validate()
        if self.short_doc_frac is not None and not 0.0 <= self.short_doc_frac <= 1.0:
            raise ConfigError(f"short_doc_frac={self.short_doc_frac} must be in [0, 1]")
        if self.short_doc_frac is not None and self.short_doc_len <= 0:
            raise ConfigError("short_doc_frac is set: also set short_doc_len (tokens)")


# Aux/z coefficients of the tiny stages. The report's maxima (0.01 / 0.001) suit 48 experts over
# thousands of steps; 8 experts trained 450 steps ended at max/mean load 1.28-1.39 with them. A
# 3x higher aux start decaying to 0.01 ends at 1.12-1.29 in every layer (six settings compared
# in docs/expert-balance.md); anneal and long hold main's final values to keep the balance.
# Evaluation reads 16-24k held-out tokens, enough for a per-layer load figure that 8k tokens of a
# few dozen documents leave noisy (±0.2).
TINY_MAIN_COEFS = dict(aux_coef=0.03, z_coef=0.001, coef_final_frac=1 / 3)
TINY_LATER_COEFS = dict(aux_coef=0.01, z_coef=0.001 / 3, coef_final_frac=1.0)


def tiny_main() -> PretrainStageConfig:
    return PretrainStageConfig(
        steps=450, micro_batch_size=8, seq_len=256, lr=3e-3, min_lr=3e-4, warmup_steps=15,
        eval_every=75, ckpt_every=50, eval_batches=12, **TINY_MAIN_COEFS,
    )  # fmt: skip


def tiny_anneal() -> PretrainStageConfig:
    # Report: re-warmup to half the main peak, decay to the floor, batch ×1.5, HQ data only.
    return PretrainStageConfig(
        steps=100, micro_batch_size=12, seq_len=256, lr=1.5e-3, min_lr=3e-4, warmup_steps=10,
        hq_only=True, eval_every=50, ckpt_every=30, eval_batches=8, **TINY_LATER_COEFS,
    )  # fmt: skip


def tiny_long() -> PretrainStageConfig:
    # Report: RoPE 10k -> 1M, 4k -> 32k tokens, 40% short / 60% long documents, constant 3e-5.
    return PretrainStageConfig(
        steps=30, micro_batch_size=1, seq_len=2048, lr=3e-4, min_lr=3e-4, warmup_steps=0,
        lr_schedule="constant", rope_base=1_000_000.0, short_doc_frac=0.4, short_doc_len=256,
        eval_every=0, ckpt_every=15, eval_batches=8, eval_short_seq_len=256, **TINY_LATER_COEFS,
    )  # fmt: skip


@dataclass
class PretrainConfig(Config):
    # The high-quality threshold on curation's quality score: anneal trains on documents at or
    # above it and every stage reports validation loss on the held-out HQ documents.
    hq_quality: float = 0.7
    main: PretrainStageConfig = field(default_factory=tiny_main)
    anneal: PretrainStageConfig = field(default_factory=tiny_anneal)
    long: PretrainStageConfig = field(default_factory=tiny_long)

    def stage(self, name: str) -> PretrainStageConfig:
        if name not in STAGES:
            raise ConfigError(f"unknown pretraining stage {name!r}: choose {', '.join(STAGES)}")
        return getattr(self, name)
