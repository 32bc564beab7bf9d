"""The ``dpo`` step of ``compass run`` (``compass.pipeline.steps`` lists it): online DPO from the
policy checkpoint with the ``reward`` step's soup, on the ``tasks`` step's prompt files; the
result is the pipeline's final policy."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any


def dpo_step(policy_from: str):
    def fn(ctx) -> dict[str, Any]:
        from compass.posttrain.dpo.run import run_dpo, summary

        tasks = ctx.deps["tasks"]
        cfg = copy.deepcopy(ctx.recipe.dpo)
        cfg.prompts = [str(tasks / "prompts" / "dpo.jsonl"), *cfg.prompts]
        cfg.heldout = [str(tasks / "prompts" / "dpo_heldout.jsonl"), *cfg.heldout]
        m = run_dpo(
            cfg, ctx.deps[policy_from] / "ckpt", ctx.deps["reward"], ctx.out, ctx.deps["tokenizer"]
        )
        return summary(m)

    return fn


def final_policy(ctx) -> Path:
    """The DPO policy checkpoint: what export, quantization and evaluation use."""
    return ctx.deps["dpo"] / "ckpt"
