"""The SFT steps of ``compass run`` (``compass.pipeline.steps`` lists them): ``sft_data``,
``sft1``, ``sft2`` and ``eval_reasoning`` (deep vs fast mode per language)."""

from __future__ import annotations

import json
from typing import Any


def sft_data(ctx) -> dict[str, Any]:
    from compass.data.synth.world import World
    from compass.sft.data import build_sft_data

    world = World.load(ctx.deps["generate"] / "world.json")
    report = build_sft_data(ctx.recipe.sft, world, ctx.out, ctx.deps["generate"] / "eval")
    sel = report["selection"]
    return {
        "kept": report["kept"],
        "rejected": report["rejected"],
        "by_stage": report["by_stage"],
        "long_cot": report["long_cot"],
        "selection": {k: sel.get(k) for k in ("input", "near_duplicates", "clusters", "reduction")},
    }


def sft_stage(stage: int, init_from: str):
    def fn(ctx) -> dict[str, Any]:
        from compass.sft.run import run_sft

        result, info = run_sft(
            ctx.recipe, stage, ctx.deps["sft_data"], ctx.deps["tokenizer"], ctx.out / "ckpt",
            init=ctx.deps[init_from] / "ckpt",
        )  # fmt: skip
        return {
            "step": result.step,
            "final_loss": result.losses[-1] if result.losses else None,
            "eval": result.eval,
            "tokens_per_s": round(result.tokens_per_s, 1),
            **info,
        }

    return fn


def eval_reasoning(ctx) -> dict[str, Any]:
    """Deep vs fast accuracy on the held-out cart arithmetic, and the answer-language match."""
    from compass.data.synth.world import World
    from compass.inference.engine import Engine
    from compass.sft.reasoning_eval import (
        evaluate_modes,
        language_match,
        language_prompts,
        write_table,
    )
    from compass.tokenizer import load_tokenizer

    ckpt = ctx.deps["sft2"] / "ckpt"
    data = ctx.deps["sft_data"]
    items = [json.loads(x) for x in (data / "eval" / "cart_arithmetic.jsonl").open()]
    engine = Engine.from_checkpoint(ckpt, load_tokenizer(ckpt / "tokenizer"), max_batch=64)
    cfg = ctx.recipe.sft
    modes = evaluate_modes(engine, items, cfg.eval_max_tokens)
    world = World.load(ctx.deps["generate"] / "world.json")
    prompts = language_prompts(world, cfg.data.langs, 4, cfg.data.seed)
    lang = language_match(engine, prompts, cfg.eval_max_tokens)
    write_table({"modes": modes, "language_match": lang}, ctx.out)
    return {
        "modes": {k: v for k, v in modes.items() if not k.startswith("_")},
        "language_match": lang,
    }
