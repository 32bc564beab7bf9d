"""The ``reward`` step of ``compass run`` (``compass.pipeline.steps`` lists it): reward models on
the policy checkpoint (SFT stage 2 when the pipeline has it), weight soup, Best-of-N."""

from __future__ import annotations

from typing import Any


def reward_step(policy_from: str):
    def fn(ctx) -> dict[str, Any]:
        from compass.data.synth.world import World
        from compass.reward.cli import summary
        from compass.reward.run import train_reward

        gen = ctx.deps["generate"]
        metrics = train_reward(
            ctx.recipe.reward, ctx.deps[policy_from] / "ckpt", ctx.out, World.load(gen / "world.json"),
            ctx.deps["tokenizer"], gen / "eval",
        )  # fmt: skip
        return {**summary(metrics), "soup_ge_best_run": metrics["soup_ge_best_run"]}

    return fn
