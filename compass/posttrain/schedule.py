"""The training schedule of a stage that trains for a number of epochs over an in-memory list
(reward-model runs, DPO rounds): steps follow the list's size."""

from __future__ import annotations

import math

from compass.train.config import TrainConfig


def epochs_base(**overrides: object) -> TrainConfig:
    """The generic base of such a stage: ``steps`` is a placeholder that :func:`epochs_config`
    replaces, no evaluation or checkpoint inside a run, light MoE balance losses (the model was
    balanced in pretraining); ``overrides`` replace any field. micro_batch_size counts pairs."""
    fields = dict(
        steps=1,
        min_lr=0.0,
        warmup_steps=0,
        eval_every=0,
        eval_batches=0,
        ckpt_every=0,
        keep_last=1,
        aux_coef=0.001,
        z_coef=0.0001,
    )
    return TrainConfig(**{**fields, **overrides})  # type: ignore[arg-type]


def epochs_config(
    base: TrainConfig,
    epochs: float,
    n_items: int,
    *,
    lr: float | None = None,
    schedule: str | None = None,
    warmup_frac: float | None = None,
) -> TrainConfig:
    """A copy of ``base`` with ``steps`` = epochs × items / micro-batch (at least 1); ``lr`` and
    ``schedule`` replace the base's when given; warm-up is ``warmup_frac`` of the steps when
    given, else the base's, never more than the steps."""
    tc = TrainConfig.from_dict(base.to_dict())
    tc.steps = max(1, math.ceil(epochs * n_items / tc.micro_batch_size))
    if lr is not None:
        tc.lr, tc.min_lr = lr, min(tc.min_lr, lr)
    if schedule is not None:
        tc.lr_schedule = schedule
    warmup = round(warmup_frac * tc.steps) if warmup_frac is not None else tc.warmup_steps
    tc.warmup_steps = min(tc.steps, warmup)
    tc.validate()
    return tc
