"""The SFT steps of ``compass run`` (``compass.pipeline.steps`` lists them): ``sft_data``,
``sft1``, ``sft2`` and ``eval_reasoning`` (deep vs fast mode per language), on the files of the
``tasks`` step."""

from __future__ import annotations

import copy
import json
from typing import Any


def sft_data(ctx) -> dict[str, Any]:
    from compass.posttrain.sft.data import build_sft_data, summary

    cfg = copy.deepcopy(ctx.recipe.sft)
    tasks = ctx.deps["tasks"]
    cfg.data.inputs = [str(tasks / "sft.jsonl"), *cfg.data.inputs]
    cfg.data.exclude = [str(ctx.deps["generate"] / "eval"), str(tasks / "eval"), *cfg.data.exclude]
    return summary(build_sft_data(cfg, ctx.out))


def sft_stage(stage: int, init_from: str):
    def fn(ctx) -> dict[str, Any]:
        from compass.posttrain.sft.run import run_sft

        result, info = run_sft(
            ctx.recipe,
            stage,
            ctx.deps["sft_data"],
            ctx.deps["tokenizer"],
            ctx.out / "ckpt",
            init=ctx.deps[init_from] / "ckpt",
        )
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
    from compass.inference.engine import Engine
    from compass.posttrain.language import judge_error
    from compass.posttrain.sft.reasoning_eval import evaluate_modes, language_match, write_table
    from compass.tokenizer import load_tokenizer

    ckpt = ctx.deps["sft2"] / "ckpt"
    evals = ctx.deps["tasks"] / "eval"
    items = [json.loads(x) for x in (evals / "cart_arithmetic.jsonl").open(encoding="utf-8")]
    prompts = [json.loads(x) for x in (evals / "answer_language.jsonl").open(encoding="utf-8")]
    engine = Engine.from_checkpoint(ckpt, load_tokenizer(ckpt / "tokenizer"), max_batch=64)
    max_tokens = ctx.recipe.sft.eval_max_tokens
    modes = evaluate_modes(engine, items, max_tokens)
    lang = language_match(engine, prompts, max_tokens)
    lang["judge"] = judge_error(prompts)  # the LID's own error on the generator's replies
    write_table({"modes": modes, "language_match": lang}, ctx.out)
    return {
        "modes": {k: v for k, v in modes.items() if not k.startswith("_")},
        "language_match": lang,
    }
