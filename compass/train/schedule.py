"""Learning-rate and MoE-loss-coefficient schedules: pure functions of the step.

Being functions of the step (not stateful scheduler objects) makes resume exact by
construction: the checkpoint only has to store the step.
"""

from __future__ import annotations

import math

from compass.train.config import TrainConfig


def _decay(frac: float, shape: str) -> float:
    """1 -> 0 as ``frac`` goes 0 -> 1."""
    frac = min(max(frac, 0.0), 1.0)
    if shape == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * frac))
    if shape == "linear":
        return 1.0 - frac
    return 1.0


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup from 0 over ``warmup_steps``, then decay to ``min_lr`` at ``steps``.

    The same function serves all three pretraining stages: main (warmup + cosine), anneal
    (re-warmup to a lower peak, then decay) and long-context (``constant``: warmup then flat).
    ``step`` counts from 0; the update at step s uses lr_at(s).
    """
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return cfg.lr
    span = max(1, cfg.steps - cfg.warmup_steps - 1)
    d = _decay((step - cfg.warmup_steps) / span, cfg.lr_schedule)
    return cfg.min_lr + (cfg.lr - cfg.min_lr) * d


def coef_at(step: int, cfg: TrainConfig, maximum: float) -> float:
    """Aux/z coefficient: from ``maximum`` to ``maximum × coef_final_frac`` over the run."""
    d = _decay(step / max(1, cfg.steps - 1), cfg.coef_schedule)
    final = maximum * cfg.coef_final_frac
    return final + (maximum - final) * d
