"""The ``reward`` step of ``compass run`` (``compass.pipeline.steps`` lists it): reward models on
the policy checkpoint (SFT stage 2 when the pipeline has it) from the ``tasks`` step's files,
weight soup, Best-of-N."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any


def reward_step(policy_from: str):
    def fn(ctx) -> dict[str, Any]:
        from compass.posttrain.reward.run import summary, train_reward

        tasks = ctx.deps["tasks"]
        cfg = copy.deepcopy(ctx.recipe.reward)
        cfg.inputs = [str(tasks / "pairs" / "train.jsonl"), *cfg.inputs]
        cfg.heldout = [str(tasks / "pairs" / "heldout.jsonl"), *cfg.heldout]
        cfg.bon_prompts = [*_written(tasks / "prompts" / "bon.jsonl"), *cfg.bon_prompts]
        cfg.verifier_inputs = [*_written(tasks / "verifier.jsonl"), *cfg.verifier_inputs]
        cfg.policy_prompts = [*_written(tasks / "prompts" / "rm_policy.jsonl"), *cfg.policy_prompts]
        metrics = train_reward(cfg, ctx.deps[policy_from] / "ckpt", ctx.out, ctx.deps["tokenizer"])
        return summary(metrics)

    return fn


def _written(path: Path) -> list[str]:
    """[path] when the tasks step wrote rows there (a count of 0 writes an empty file)."""
    return [str(path)] if path.exists() and path.stat().st_size else []
