"""Settings of the one training loop (every stage's config extends or embeds this)."""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.distributed.layout import ParallelConfig


@dataclass
class TrainConfig(Config):
    steps: int = 150
    micro_batch_size: int = 8  # sequences per rank per forward
    grad_accum: int = 1  # global batch = micro_batch_size × grad_accum × world_size
    # When > 0 (sequences), grad_accum is derived from it and the world size at launch, so a
    # recipe states the report's global batch independently of the number of GPUs.
    global_batch: int = 0
    seq_len: int = 256
    # AdamW (report §2.3): β 0.9/0.95, weight decay 0.1 on matrices only.
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 15
    lr_schedule: str = "cosine"  # cosine | linear | constant
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    # MoE loss coefficients decay from their maxima (report §2.2: "progressively decay").
    aux_coef: float = 0.01
    z_coef: float = 0.001
    coef_schedule: str = "cosine"  # cosine | linear | constant
    coef_final_frac: float = 0.1  # coefficient at the last step, as a fraction of the maximum
    # Attention stays inside each packed document (positions restart) when true.
    isolate_docs: bool = True
    eval_every: int = 50
    eval_batches: int = 4
    ckpt_every: int = 50
    keep_last: int = 2
    log_every: int = 10
    # Non-finite loss or gradient: skip the step; stop the run after this many skipped steps.
    max_bad_steps: int = 5
    seed: int = 1234
    # bf16 mixed precision (FSDP on GPUs); CPU runs stay float32 (bf16 matmul is ~10× slower).
    mixed_precision: bool = False
    tensorboard: bool = False
    # Expert / pipeline / context parallel and activation checkpointing under torchrun; the
    # default (all 1) is one process, or FSDP2 over every rank.
    parallel: ParallelConfig = field(default_factory=ParallelConfig)

    def accum_steps(self, world_size: int) -> int:
        """Micro-batches per optimizer step on each rank."""
        if self.global_batch <= 0:
            return self.grad_accum
        if self.parallel.enabled:  # pipeline and context ranks share their replica's batch
            world_size = self.parallel.data_parallel
        per_step = self.micro_batch_size * world_size
        if self.global_batch % per_step:
            raise ConfigError(
                f"global_batch={self.global_batch} is not a multiple of micro_batch_size="
                f"{self.micro_batch_size} × data-parallel size {world_size}; change either"
            )
        return self.global_batch // per_step

    def validate(self) -> None:
        errs = []
        for name in ("steps", "micro_batch_size", "grad_accum", "seq_len", "keep_last"):
            if getattr(self, name) <= 0:
                errs.append(f"{name}={getattr(self, name)} must be positive")
        if self.lr_schedule not in ("cosine", "linear", "constant"):
            errs.append(f"lr_schedule={self.lr_schedule!r}: choose cosine, linear or constant")
        if self.coef_schedule not in ("cosine", "linear", "constant"):
            errs.append(f"coef_schedule={self.coef_schedule!r}: choose cosine, linear or constant")
        if self.min_lr > self.lr:
            errs.append(f"min_lr={self.min_lr} exceeds lr={self.lr}")
        if self.warmup_steps < 0 or self.warmup_steps > self.steps:
            errs.append(f"warmup_steps={self.warmup_steps} must be in [0, steps={self.steps}]")
        if errs:
            raise ConfigError(f"inconsistent {type(self).__name__}: " + "; ".join(errs))
