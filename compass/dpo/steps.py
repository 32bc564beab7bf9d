"""The ``dpo`` step of ``compass run`` (``compass.pipeline.steps`` lists it): online DPO from the
policy checkpoint with the ``reward`` step's soup; the result is the pipeline's final policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def dpo_step(policy_from: str):
    def fn(ctx) -> dict[str, Any]:
        from compass.data.synth.world import World
        from compass.dpo.run import run_dpo

        gen = ctx.deps["generate"]
        m = run_dpo(
            ctx.recipe.dpo, ctx.deps[policy_from] / "ckpt", ctx.deps["reward"], ctx.out,
            World.load(gen / "world.json"), ctx.deps["tokenizer"], gen / "eval",
        )  # fmt: skip
        keys = ("mean_reward", "math_accuracy", "deep_math_accuracy", "language_match",
                "deep_mode_closes_think")  # fmt: skip
        return {
            "before": {k: round(m["before"][k], 4) for k in keys},
            "after": {k: round(m["after"][k], 4) for k in keys},
            "pairs_per_round": [r["pairs"] for r in m["rounds"]],
            "wall_s": m["wall_s"],
        }

    return fn


def final_policy(ctx) -> Path:
    """The DPO policy checkpoint: what export, quantization and evaluation use."""
    return ctx.deps["dpo"] / "ckpt"
